"""A cooldown branched off the step a run resumed at.

``cooldown_start="resume"`` (a config's, from Python or the command line) is the step a
resumed run continues from, given when the schedule is built (``resume_step=``, as the run
length is given by ``run_steps=``). :func:`branch_step` is that step for a run resumed from a
checkpoint, so that resuming a run already branched (killed during its cooldown) continues the
same cooldown instead of moving it; :func:`cooldown_end` is the step the branched run ends
at. :func:`branch_cooldown` branches a saved schedule in Python, replacing a cooldown that
ended the saved run.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from hydra_optax_schedules.messages import invalid
from hydra_optax_schedules.piece import PieceKind
from hydra_optax_schedules.resume.check import check_resume
from hydra_optax_schedules.resume.compare import Saved, rebuilt
from hydra_optax_schedules.schedule import Schedule, build_lr_scheduler
from hydra_optax_schedules.values import MAX_STEPS

__all__ = ["branch_cooldown", "branch_step", "cooldown_end"]


def branch_cooldown(
    saved: Saved,
    step: int,
    cooldown_steps: int,
    **cooldown: Any,
) -> Schedule:
    """The saved schedule with a cooldown of ``cooldown_steps`` branched off at ``step``: it
    starts from the value the saved schedule has at ``step`` (exactly: the plan's branched
    cooldown, ``cooldown_start="resume"`` with ``resume_step=step``), whatever the family,
    and ends at ``step + cooldown_steps``. ``cooldown`` may set ``cooldown_shape`` and
    ``cooldown_lr``.

    A saved cooldown that ends the run (``decay_steps - cooldown_steps``) is replaced by the
    branch: the main phase keeps its length, and ends ``decay_steps`` there (a warmup given as
    a fraction keeps its steps). Every value up to ``step`` is checked to be the saved one
    (:func:`check_resume`, ``strict``): a branch inside the saved cooldown, or milestones or
    stages given as fractions of a run that ended in a cooldown, are refused.

    Raises:
        ScheduleConfigError: The branch would move a value at a step ``<= step`` (a branch
            inside the saved cooldown), or a field is invalid.
    """
    before = rebuilt(saved)
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
        cooldown_start="resume",
        cooldown_start_fraction=None,
        cooldown_steps=cooldown_steps,
        cooldown_fraction=None,
        **cooldown,
    )
    schedule = build_lr_scheduler(branched, resume_step=step)  # the one path of a branch
    check_resume(before, schedule, step)
    return schedule


def branch_step(saved: Saved, step: int) -> int:
    """The step ``cooldown_start="resume"`` stands for when a run resumes from ``saved`` (its
    checkpoint's :func:`saved_config`) at ``step`` (the optimizer's count): ``step``, unless
    the saved schedule already branches its cooldown (``cooldown_start``, its fraction, or
    ``units.cooldown_start``) at a step ``<= step``; then that step, so that a branched run
    killed during its cooldown and resumed with the same command line continues the same
    cooldown (a branch moved to the new resume step would change values the run used, which
    :func:`check_resume` refuses under ``strict``).

    Raises:
        ScheduleConfigError: ``step`` is not a step count.
    """
    if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= MAX_STEPS:
        raise invalid("", "step", step, "expected the optimizer's count, an int >= 0")
    before = rebuilt(saved)
    config = before.config
    units = config.units
    branched = (
        config.cooldown_start is not None
        or config.cooldown_start_fraction is not None
        or (units is not None and units.cooldown_start is not None)
    )
    cooldown = [p for p in before.pieces if p.kind is PieceKind.COOLDOWN]
    if branched and cooldown:
        start = before.step_at(cooldown[0].start)  # pieces count in the run's unit
        if start <= step:
            return start
    return step


def cooldown_end(schedule: Schedule) -> int | None:
    """The step ``schedule``'s cooldown ends at, in steps (for a run counted in a unit too:
    ``step_at`` of its end), or ``None`` without one. A run whose cooldown is branched off
    the resume step (``cooldown_start="resume"``) ends there: the example trainer trains up
    to it, and lrview previews up to it."""
    cooldown = [piece for piece in schedule.pieces if piece.kind is PieceKind.COOLDOWN]
    if not cooldown or cooldown[0].end is None:
        return None
    return schedule.step_at(cooldown[0].end)
