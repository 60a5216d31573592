"""The numbers a person checks before training: phases, peak, final and mean learning rate.

The phase list comes from the schedule itself (``Schedule.phases``), cut to the previewed run;
nothing here re-derives a formula.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hydra_optax_schedules.curve import Curve
from hydra_optax_schedules.schedule import Schedule

__all__ = ["PhaseRow", "Summary", "format_summary", "summarize"]

#: The row for steps past ``decay_steps``, where the schedule holds its final value.
HOLD = "hold"


@dataclass(frozen=True)
class PhaseRow:
    """A phase as seen within the run: steps ``[first, end)`` (``[first, end]`` for the last)."""

    name: str
    first: int
    end: int
    start_lr: float
    end_lr: float


@dataclass(frozen=True)
class Summary:
    """What the viewer prints about a schedule over steps ``0..steps``.

    Attributes:
        name: The schedule's ``name`` as configured (``"cosine"``, ``"cosine_decay"``, ...).
        steps: The run's length; the curve covers steps ``0..steps``.
        phases: The phases that start before ``steps``, cut at ``steps``, then a ``"hold"``
            row if the run goes on past the schedule's end.
        peak_lr: The largest learning rate, first reached at ``peak_step``.
        peak_step: See ``peak_lr``.
        final_lr: The learning rate at step ``steps``.
        mean_lr: The mean learning rate of the run's ``steps`` updates, steps ``0..steps-1``.
    """

    name: str
    steps: int
    phases: tuple[PhaseRow, ...]
    peak_lr: float
    peak_step: int
    final_lr: float
    mean_lr: float

    @property
    def boundaries(self) -> tuple[int, ...]:
        """The steps where one phase hands over to the next."""
        return tuple(row.first for row in self.phases[1:])


def summarize(schedule: Schedule, curve: Curve) -> Summary:
    """Summarize ``schedule`` over the run that ``curve`` covers (from :func:`curve.evaluate`)."""
    steps = int(curve.steps[-1])
    lrs = curve.lrs
    rows = []
    for phase in schedule.phases:
        if phase.start >= steps and rows:
            break
        if phase.end is not None and phase.end <= steps:
            rows.append(
                PhaseRow(phase.name, phase.start, phase.end, phase.start_value, phase.end_value)
            )
        else:  # the run ends inside this phase
            rows.append(
                PhaseRow(phase.name, phase.start, steps, phase.start_value, float(lrs[steps]))
            )
    if rows[-1].end < steps:
        last = rows[-1]
        rows.append(PhaseRow(HOLD, last.end, steps, last.end_lr, last.end_lr))
    peak_step = int(np.argmax(lrs))
    return Summary(
        name=schedule.config.name,
        steps=steps,
        phases=tuple(rows),
        peak_lr=float(lrs[peak_step]),
        peak_step=peak_step,
        final_lr=float(lrs[steps]),
        mean_lr=float(np.mean(lrs[:steps])),
    )


def _lr(value: float) -> str:
    return f"{value:.3e}"


def format_summary(summary: Summary, overrides: list[str]) -> str:
    """The summary as a few aligned lines of text, headed by the run's overrides."""
    described = " ".join(overrides) if overrides else "(defaults)"
    lines = [f"{summary.name} schedule over {summary.steps} steps: {described}", ""]
    last = len(summary.phases) - 1
    ranges = [
        f"[{row.first}, {row.end}{']' if i == last else ')'}"
        for i, row in enumerate(summary.phases)
    ]
    name_width = max(len("phase"), *(len(row.name) for row in summary.phases))
    width = max(len("steps"), *(len(r) for r in ranges))
    lines.append(
        f"{'phase':<{name_width}}  {'steps':<{width}}  {'lr at start':>11}  {'lr at end':>11}"
    )
    for row, steps in zip(summary.phases, ranges, strict=True):
        lines.append(
            f"{row.name:<{name_width}}  {steps:<{width}}  "
            f"{_lr(row.start_lr):>11}  {_lr(row.end_lr):>11}"
        )
    lines += [
        "",
        f"peak   {_lr(summary.peak_lr)} at step {summary.peak_step}",
        f"final  {_lr(summary.final_lr)} at step {summary.steps}",
        f"mean   {_lr(summary.mean_lr)} over steps [0, {summary.steps})",
    ]
    return "\n".join(lines)
