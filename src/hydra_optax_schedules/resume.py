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

"Identical up to ``r``" means: the host value (float64, ``schedule(s)`` for a Python int) is
the same at every integer step ``0 <= s <= r``. It is decided without visiting every step:
both plans are cut into stretches at every boundary of either plan (integers), and on each
stretch the two pieces are compared as formulas (:func:`_formula`): a constant (a ``holds``
shape, a built-in shape from ``a`` to the same ``b``, or the hold past the last piece) is its
value; any other piece is its shape, its first step, ``a``, ``b``, the length of the whole
shape (``span`` for a cut piece) and its parameters. The same formula gives the same value at
every step of the stretch, on the host and under ``jit``. Where the formulas differ the values
are compared at the stretch's first two and last two steps, the resume step, and 64 steps
spread over it (every step of a stretch of at most ``SCANNED_STEPS`` steps): the first step
that differs is the change. On a longer stretch (or the last one, which never ends), two
different formulas that agree at every step compared are taken as a change at the stretch's
first step (the message says the formula changed): refused under ``strict``, never accepted
unseen. The work is bounded by the number of pieces, not of steps.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from hydra_optax_schedules.config.schema import SchedulerConfig
from hydra_optax_schedules.errors import IgnoredFieldWarning
from hydra_optax_schedules.messages import invalid, resume_changes, resume_moved
from hydra_optax_schedules.piece import Piece, PieceKind
from hydra_optax_schedules.schedule import Schedule, build_lr_scheduler
from hydra_optax_schedules.shapes import BUILTIN_SHAPES, SHAPES
from hydra_optax_schedules.values import MAX_STEPS

__all__ = [
    "POLICIES",
    "SCANNED_STEPS",
    "Change",
    "ResumeCheck",
    "ResumePolicy",
    "branch_cooldown",
    "check_resume",
    "compare_schedules",
    "optimizer_step",
    "saved_config",
]

ResumePolicy = Literal["strict", "config", "checkpoint"]
#: The policies of :func:`check_resume`, the default first.
POLICIES: tuple[ResumePolicy, ...] = ("strict", "config", "checkpoint")
#: A stretch where the two formulas differ is compared at every step up to this length.
SCANNED_STEPS = 4096
_SPREAD = 64  # ... and at this many steps spread over a longer one


@dataclass(frozen=True)
class Change:
    """The first step found where two schedules differ: the value ``before`` (saved) and
    ``after`` (current). ``before == after`` only when the formulas differ but agree at every
    step compared (see the module)."""

    step: int
    before: float
    after: float


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


def compare_schedules(saved: Schedule, current: Schedule, step: int) -> tuple[Change | None, ...]:
    """``(moved, reshaped)``: the first change at a step ``<= step``, and at a step ``> step``
    (``None`` where the values are identical), found by comparing the pieces (the module)."""
    moved = reshaped = None
    for low, high, a, b in _stretches(saved.pieces, current.pieces):
        if a == b:
            continue
        if moved is None and low <= step:
            until = step + 1 if high is None else min(high, step + 1)
            moved = _first_change(saved, current, low, until, step)
        if reshaped is None and (high is None or high > step + 1):
            reshaped = _first_change(saved, current, max(low, step + 1), high, step)
        if moved is not None and reshaped is not None:
            break
    return moved, reshaped


def check_resume(
    saved: Mapping[str, Any] | SchedulerConfig | Schedule,
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
    before = _rebuilt(saved)
    fields = _changed_fields(before.config.as_config(), current.config.as_config())
    moved, reshaped = compare_schedules(before, current, step)
    if policy == "strict" and moved is not None:
        at_step = (before(step), current(step))
        raise resume_moved(prefix, fields, moved, step, at_step, f"{policy_field}=")
    chosen = before if policy == "checkpoint" else current
    return ResumeCheck(step, policy, fields, moved, reshaped, chosen)


def branch_cooldown(
    saved: Mapping[str, Any] | SchedulerConfig | Schedule,
    step: int,
    cooldown_steps: int,
    **cooldown: Any,
) -> Schedule:
    """The saved schedule with a cooldown of ``cooldown_steps`` branched off at ``step``: it
    starts from the value the saved schedule has at ``step`` (exactly: the plan's branched
    cooldown, ``cooldown_start=step``), whatever the family, and ends at ``step +
    cooldown_steps``. ``cooldown`` may set ``cooldown_shape`` and ``cooldown_lr``.

    A saved cooldown that ends the run (``decay_steps - cooldown_steps``) is replaced by the
    branch: the main phase keeps its length, and ends ``decay_steps`` there (a warmup given as
    a fraction keeps its steps). Every value up to ``step`` is checked to be the saved one
    (:func:`check_resume`, ``strict``): a branch inside the saved cooldown, or milestones or
    stages given as fractions of a run that ended in a cooldown, are refused.

    Raises:
        ScheduleConfigError: The branch would move a value at a step ``<= step`` (a branch
            inside the saved cooldown), or a field is invalid.
    """
    before = _rebuilt(saved)
    config = before.config
    for name in sorted(set(cooldown) - {"cooldown_shape", "cooldown_lr"}):
        raise invalid("", name, cooldown[name], "expected cooldown_shape or cooldown_lr")
    length, warmup = config.decay_steps, dict[str, Any]()
    if config.cooldown_start is None and config.cooldown_start_fraction is None:
        ending = [p for p in before.pieces if p.kind is PieceKind.COOLDOWN]
        if ending and length is not None:
            length = ending[0].start  # the main phase without the saved cooldown
            # A warmup given as a fraction of the run keeps its steps in the shorter one.
            steps = sum(p.length or 0 for p in before.pieces if p.kind is PieceKind.WARMUP)
            warmup = {"warmup_steps": steps, "warmup_fraction": None}
    branched = dataclasses.replace(
        config.as_config(),
        **warmup,
        decay_steps=length,
        cooldown_start=step,
        cooldown_start_fraction=None,
        cooldown_steps=cooldown_steps,
        cooldown_fraction=None,
        **cooldown,
    )
    schedule = build_lr_scheduler(branched)
    check_resume(before, schedule, step)
    return schedule


def _rebuilt(saved: Mapping[str, Any] | SchedulerConfig | Schedule) -> Schedule:
    """The saved schedule: a field without effect was warned about when it was first built."""
    if isinstance(saved, Schedule):
        return saved
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IgnoredFieldWarning)
        return build_lr_scheduler(saved)


def _changed_fields(
    saved: SchedulerConfig, current: SchedulerConfig
) -> tuple[tuple[str, Any, Any], ...]:
    before, after = saved.to_dict(), current.to_dict()
    return tuple(
        (name, before[name], after[name]) for name in before if before[name] != after[name]
    )


def _formula(piece: Piece, past_end: bool) -> tuple[Any, ...]:
    """What determines the piece's value at every step it covers (``past_end``: the hold after
    the last piece): equal formulas give equal values."""
    if past_end:
        return ("constant", piece.end_value)
    shape, c = SHAPES[piece.shape], piece.coefficients
    if shape.holds:
        return ("constant", piece.start_value)
    if piece.shape in BUILTIN_SHAPES and shape.over == "progress" and c["a"] == c["b"]:
        return ("constant", c["a"])  # a + (b - a) * f(x) with b == a is a, exactly
    span = c["length"] if shape.over == "progress" else None  # over steps: t, not t / length
    ends_at = None if piece.shape == "inverse_sqrt" else c["b"]  # it does not read b
    params = tuple(sorted((k, v) for k, v in c.items() if k not in ("a", "b", "length")))
    return (piece.shape, piece.start, c["a"], ends_at, span, params)


def _segments(pieces: tuple[Piece, ...]) -> list[tuple[int, tuple[Any, ...]]]:
    """``(first step, formula)`` of each piece, and of the hold after the last one."""
    segments = [(p.start, _formula(p, False)) for p in pieces]
    last = pieces[-1]
    if last.end is not None:
        segments.append((last.end, _formula(last, True)))
    return segments


def _stretches(
    saved: tuple[Piece, ...], current: tuple[Piece, ...]
) -> list[tuple[int, int | None, tuple[Any, ...], tuple[Any, ...]]]:
    """``[low, high)`` stretches (``high`` ``None``: forever) on which each plan is one formula,
    with the two formulas."""
    first, second = _segments(saved), _segments(current)
    starts = sorted({0} | {s for s, _ in first} | {s for s, _ in second})

    first_starts, second_starts = [s for s, _ in first], [s for s, _ in second]

    def at(segments: list[tuple[int, tuple[Any, ...]]], begins: list[int], step: int) -> Any:
        """The formula at ``step``: the last segment starting at or before it (bisection)."""
        return segments[max(bisect.bisect_right(begins, step) - 1, 0)][1]

    ends: list[int | None] = [*starts[1:], None]
    return [
        (low, high, at(first, first_starts, low), at(second, second_starts, low))
        for low, high in zip(starts, ends, strict=True)
    ]


def _first_change(
    saved: Schedule, current: Schedule, low: int, high: int | None, step: int
) -> Change | None:
    """The first step of ``[low, high)`` compared where the two values differ (module)."""
    if high is not None and high <= low:
        return None
    last = low + 2 * _SPREAD if high is None else high - 1
    steps: Iterable[int]
    if last - low < SCANNED_STEPS:
        steps = range(low, last + 1)
        scanned = high is not None
    else:
        spread = {low + (last - low) * i // _SPREAD for i in range(_SPREAD + 1)}
        probes = {low, low + 1, last - 1, last} | ({step} if low <= step <= last else set())
        steps = sorted(spread | probes)
        scanned = False
    for s in steps:
        a, b = saved(s), current(s)
        if a != b and not (math.isnan(a) and math.isnan(b)):
            return Change(s, a, b)
    return None if scanned else Change(low, saved(low), current(low))
