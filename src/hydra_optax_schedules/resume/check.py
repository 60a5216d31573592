"""Resuming a run: the saved schedule against the current one, at the optimizer's step count.

A checkpoint records the schedule's config (:func:`saved_config`: ``to_dict()`` of the
normalized config, run length filled in) beside the optimizer state. On resume,
:func:`check_resume` rebuilds the saved schedule, compares it with the current one at the
resume step ``r`` (the optimizer's ``count``: :func:`optimizer_step`) and applies a policy:

- ``strict`` (default): a change that *moves* a value at a step ``s <= r`` (the values the run
  used, ``0 .. r - 1``, and the next one, ``r``) is a ``ScheduleConfigError`` naming the fields
  that changed and the value before and after; a change that only *reshapes* the future
  (``s > r``: a longer run, a cooldown branched at ``r``) continues on the current schedule,
  and is reported;
- ``config``: the current schedule, whatever moved (reported);
- ``checkpoint``: the saved schedule (the current config is reported and not used).

Every schedule of a run is checked alike: :func:`saved_configs` and :func:`check_resumes` take
them by their full key (``scheduler``, ``optimizer.param_groups.head.scheduler``), and a key
one side lacks follows the run's main schedule, as a parameter group without a schedule of
its own does. How two schedules are compared: :mod:`.compare`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from hydra_optax_schedules.messages import invalid, resume_changes, resume_moved
from hydra_optax_schedules.resume.compare import (
    Change,
    Saved,
    changed_fields,
    compare_schedules,
    rebuilt,
)
from hydra_optax_schedules.schedule import Schedule
from hydra_optax_schedules.values import MAX_STEPS

__all__ = [
    "MAIN",
    "POLICIES",
    "ResumeCheck",
    "ResumePolicy",
    "check_resume",
    "check_resumes",
    "optimizer_step",
    "saved_config",
    "saved_configs",
]

ResumePolicy = Literal["strict", "config", "checkpoint"]
#: The policies of :func:`check_resume`, the default first.
POLICIES: tuple[ResumePolicy, ...] = ("strict", "config", "checkpoint")
#: The key of a run's main schedule in :func:`saved_configs` and :func:`check_resumes`.
MAIN = "scheduler"


@dataclass(frozen=True)
class ResumeCheck:
    """What :func:`check_resume` found, and the schedule to continue with.

    Attributes:
        step: The resume step ``r``: the optimizer's count, the step of the next update.
        policy: The policy applied.
        fields: ``(field, saved, current)`` for each config field that differs.
        moved: The first change at a step ``<= r`` (``None``: every value up to ``r`` is
            identical).
        reshaped: The first change at a step ``> r`` (``None``: the future is identical).
        schedule: The schedule to continue with: the current one, or the saved one under
            ``checkpoint``.
    """

    step: int
    policy: ResumePolicy
    fields: tuple[tuple[str, Any, Any], ...]
    moved: Change | None
    reshaped: Change | None
    schedule: Schedule

    def report(self, prefix: str = "") -> str:
        """One line for the log: what changed and what the run continues with."""
        if not self.fields and self.moved is None and self.reshaped is None:
            return f"resuming at step {self.step}: the schedule is unchanged"
        what = resume_changes(prefix, self.fields, self.moved, self.reshaped)
        kept = "the saved schedule" if self.policy == "checkpoint" else "the current config"
        return f"resuming at step {self.step} (policy {self.policy}, {kept}): {what}"


def saved_config(schedule: Schedule) -> dict[str, Any]:
    """The config to save beside a checkpoint: ``to_dict()`` of the schedule's normalized
    config (JSON data; the run length filled in), which :func:`check_resume` rebuilds."""
    return schedule.config.as_config().to_dict()


def optimizer_step(state: Any) -> int:
    """The step count of an optax optimizer state: the ``count`` in its tree (of
    ``scale_by_adam``, ``scale_by_schedule``, ``inject_hyperparams``, ...), the step of the
    next update. Every ``count`` in the tree must agree (``reduce_on_plateau``'s, which counts
    the losses it averages, is not a step count and is left out).

    Raises:
        ValueError: The tree has no ``count``, or counts that differ.
    """
    import jax

    counts = set()
    # optax.contrib.reduce_on_plateau's ``count`` counts the losses it averages, not steps.
    tree = jax.tree_util.tree_flatten_with_path(state, is_leaf=_not_a_step_count)[0]
    for path, leaf in tree:
        if _not_a_step_count(leaf):
            continue
        if path and getattr(path[-1], "name", getattr(path[-1], "key", None)) == "count":
            counts.add(int(jax.device_get(leaf)))
    if len(counts) != 1:
        found = "no count" if not counts else f"counts {sorted(counts)}"
        raise ValueError(f"optimizer_step: the optimizer state has {found}: expected one count")
    return counts.pop()


def _not_a_step_count(node: Any) -> bool:
    return type(node).__name__ == "ReduceLROnPlateauState"


def check_resume(
    saved: Saved,
    current: Schedule,
    step: int,
    *,
    policy: str = "strict",
    prefix: str = "",
    policy_field: str = "policy",
) -> ResumeCheck:
    """Compare the saved schedule with ``current`` at the resume ``step`` and apply ``policy``.

    Args:
        saved: What :func:`saved_config` recorded (or a config, or the saved schedule).
        current: The schedule the resumed run's config builds.
        step: The resume step: :func:`optimizer_step` of the restored optimizer state.
        policy: ``"strict"``, ``"config"`` or ``"checkpoint"`` (:data:`POLICIES`).
        prefix: Where the config sits, for messages (``"scheduler."``).
        policy_field: How the caller sets the policy, for messages (``"resume_policy"``).

    Raises:
        ScheduleConfigError: Under ``strict``, a value at a step ``<= step`` moved; or the
            policy or the step is invalid.
    """
    if policy not in POLICIES:
        raise invalid("", policy_field, policy, f"expected one of {', '.join(POLICIES)}")
    if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= MAX_STEPS:
        raise invalid("", "step", step, "expected the optimizer's count, an int >= 0")
    before = rebuilt(saved)
    fields = changed_fields(before.config.as_config(), current.config.as_config())
    moved, reshaped = compare_schedules(before, current, step)
    if policy == "strict" and moved is not None:
        at_step = (before(step), current(step))
        raise resume_moved(prefix, fields, moved, step, at_step, f"{policy_field}=")
    chosen = before if policy == "checkpoint" else current
    return ResumeCheck(step, policy, fields, moved, reshaped, chosen)


def saved_configs(schedules: Mapping[str, Schedule]) -> dict[str, dict[str, Any]]:
    """:func:`saved_config` of every schedule of a run, by its full key: ``{"scheduler": ...,
    "optimizer.param_groups.head.scheduler": ...}`` (JSON data), for
    :func:`check_resumes`."""
    return {key: saved_config(schedule) for key, schedule in schedules.items()}


def check_resumes(
    saved: Mapping[str, Saved],
    current: Mapping[str, Schedule],
    step: int,
    *,
    policy: str = "strict",
    policy_field: str = "policy",
) -> dict[str, ResumeCheck]:
    """:func:`check_resume` of every schedule of a run, by its full key, with one policy.

    The keys are where each schedule sits (:func:`saved_configs`); each is named by its key
    in messages (``optimizer.param_groups.head.scheduler.decay_steps 1000 -> 2000 moves lr
    at step ...``). A key that one side lacks is compared with that side's :data:`MAIN`
    schedule, which a parameter group without a schedule of its own follows: a group that
    gains (or loses) its own schedule is checked like any edit of its schedule. The main
    schedule is checked first, then the others in the order of their keys.

    Returns:
        The check of every key (``.schedule``: the schedule to continue with for it; a key
        only the saved side has is left out of what the current config builds).

    Raises:
        ScheduleConfigError: Under ``strict``, a value at a step ``<= step`` of any schedule
            moved (the first one found, by key); or the policy or step is invalid; or a side
            lacks :data:`MAIN` while it lacks another key.
    """
    checks = {}
    for key in sorted({*saved, *current}, key=lambda key: (key != MAIN, key)):
        before = saved.get(key, saved.get(MAIN))
        after = current.get(key, current.get(MAIN))
        if before is None or after is None:
            side = "saved" if before is None else "current"
            raise invalid("", key, None, f"the {side} schedules have neither {key} nor {MAIN}")
        prefix = f"{key}."
        checks[key] = check_resume(
            before, after, step, policy=policy, prefix=prefix, policy_field=policy_field
        )
    return checks
