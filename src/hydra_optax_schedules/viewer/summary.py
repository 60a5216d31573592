"""The numbers a person checks before training: phases, peak, final and mean value.

The rows come from the schedule's own plan (``Schedule.pieces``), cut to the previewed run;
nothing here re-derives a formula. Values are read from the schedule's curve, which holds every
phase boundary and the steps either side of it (:mod:`.sampling`), except the value a phase
ends at: the limit of its own curve (``Piece.end_value``), not the value at its end step, which
is the next phase's first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hydra_optax_schedules.schedule import Schedule
from hydra_optax_schedules.viewer.sampling import Mean
from hydra_optax_schedules.viewer.table import Table

__all__ = ["PhaseRow", "Summary", "format_summary", "summarize"]

#: The row for steps past ``decay_steps``, where the schedule holds its final value.
HOLD = "hold"
#: The printed table lists at most this many phases: of more (a thousand cycles), the first
#: :data:`HEAD`, a line saying how many are left out, and the last :data:`TAIL`.
LISTED = 16
HEAD = 8
TAIL = 4


@dataclass(frozen=True)
class PhaseRow:
    """A phase as seen within the run: steps ``[first, end)`` (``[first, end]`` for the last).

    Attributes:
        name: The phase's name (``"warmup"``, ``"cycle 2"``, ...), or ``"hold"``.
        first: The phase's first step.
        end: Where it ends within the run: where the next phase takes over, or the run's
            last step if the run stops first.
        start_value: The value at ``first``.
        end_value: The value the phase reaches at ``end`` along its own curve
            (``Piece.end_value``), even where the next phase starts elsewhere (a restart, a
            milestone, a stage that jumps); the value at ``end`` if the run stops in the
            phase. For ``"hold"``, the value held.
        kind: What the piece is (a ``PieceKind`` value: ``"cycle"`` for ``"cycle 2"``), or
            ``"hold"``: the viewer shades each kind in its own color.
    """

    name: str
    first: int
    end: int
    start_value: float
    end_value: float
    kind: str


@dataclass(frozen=True)
class Summary:
    """What the viewer prints about one schedule over steps ``0..steps``.

    Attributes:
        key: Where the schedule is in the config (``"scheduler"``, ``"wd_schedule"``, ...).
        name: The schedule's ``name`` as configured (``"cosine"``, ``"cosine_decay"``, ...).
        steps: The run's length; the curve covers steps ``0..steps``.
        phases: The phases that start before ``steps``, cut at ``steps``, then a
            ``"hold"`` row if the run goes on past the schedule's end.
        peak: The largest value, first reached at ``peak_step`` (every phase is monotone, so
            the sampled curve holds the peak of the whole run).
        peak_step: See ``peak``.
        final: The value at step ``steps``.
        mean: The mean value over the run's ``steps`` updates, steps ``0..steps-1``.
    """

    key: str
    name: str
    steps: int
    phases: tuple[PhaseRow, ...]
    peak: float
    peak_step: int
    final: float
    mean: Mean

    @property
    def boundaries(self) -> tuple[int, ...]:
        """The steps where one phase hands over to the next."""
        return tuple(row.first for row in self.phases[1:])


def summarize(key: str, schedule: Schedule, curve: Table, mean: Mean) -> Summary:
    """Summarize ``schedule`` over the run that ``curve`` covers (steps ``0..curve.steps[-1]``).

    ``curve`` must hold every phase boundary within the run (:func:`.sampling.sample_steps`).
    A phase that starts at the run's last step has no update in the run (the updates are
    steps ``0..steps-1``): it is not a row, and its first value is the final value.
    """
    steps = int(curve.steps[-1])
    rows: list[PhaseRow] = []
    counted = schedule.config.units is not None  # pieces counted in a unit (docs/units.md)
    for phase in schedule.pieces:
        start = schedule.step_at(phase.start)
        if start >= steps:
            break
        last = None if phase.end is None else schedule.step_at(phase.end)
        if last is not None and last <= steps:
            # A piece counted in a unit ends between steps: its last step's value is shown.
            end, end_value = last, float(schedule(last - 1)) if counted else phase.end_value
        else:  # the run stops in this phase
            end, end_value = steps, curve.at(steps)
        if counted and start == end:  # a piece within one step: no step of its own
            continue
        first_value = curve.at(start)
        rows.append(PhaseRow(phase.name, start, end, first_value, end_value, phase.kind.value))
    if rows[-1].end < steps:
        held = curve.at(rows[-1].end)
        rows.append(PhaseRow(HOLD, rows[-1].end, steps, held, curve.at(steps), HOLD))
    peak_index = int(np.argmax(curve.values))
    return Summary(
        key=key,
        name=schedule.config.name,
        steps=steps,
        phases=tuple(rows),
        peak=float(curve.values[peak_index]),
        peak_step=int(curve.steps[peak_index]),
        final=curve.at(steps),
        mean=mean,
    )


def _value(value: float) -> str:
    return f"{value:.3e}"


def format_summary(summaries: Sequence[Summary], overrides: Sequence[str]) -> str:
    """The summaries as aligned lines of text, headed by the run's overrides.

    A single schedule reads as before several were supported; several get one block each,
    headed by their key.
    """
    described = " ".join(overrides) if overrides else "(defaults)"
    steps = summaries[0].steps
    if len(summaries) == 1:
        header = f"{summaries[0].name} schedule over {steps} steps: {described}"
        return "\n".join([header, "", *_block(summaries[0])])
    blocks = [f"{len(summaries)} schedules over {steps} steps: {described}"]
    for summary in summaries:
        blocks.append("\n".join([f"{summary.key}: {summary.name}", *_block(summary)]))
    return "\n\n".join(blocks)


def _block(summary: Summary) -> list[str]:
    """One schedule's phase table (at most :data:`LISTED` phases listed), then its peak,
    final and mean."""
    phases = summary.phases
    last = len(phases) - 1
    shown = list(range(len(phases)))
    if len(phases) > LISTED:
        shown = [*range(HEAD), -1, *range(len(phases) - TAIL, len(phases))]
    ranges = {
        i: f"[{phases[i].first}, {phases[i].end}{']' if i == last else ')'}"
        for i in shown
        if i >= 0
    }
    name_width = max(len("phase"), *(len(phases[i].name) for i in ranges))
    width = max(len("steps"), *(len(r) for r in ranges.values()))
    lines = [f"{'phase':<{name_width}}  {'steps':<{width}}  {'at start':>11}  {'at end':>11}"]
    for i in shown:
        if i < 0:
            left_out = len(phases) - HEAD - TAIL
            lines.append(f"... ({left_out} phases, [{phases[HEAD].first}, {phases[-TAIL].first}))")
            continue
        row = phases[i]
        lines.append(
            f"{row.name:<{name_width}}  {ranges[i]:<{width}}  "
            f"{_value(row.start_value):>11}  {_value(row.end_value):>11}"
        )
    mean = summary.mean
    estimated = (
        ""
        if mean.exact
        else f" (estimated from {mean.samples} sampled steps: relative error "
        f"~{mean.relative_error:.0e})"
    )
    return [
        *lines,
        "",
        f"peak   {_value(summary.peak)} at step {summary.peak_step}",
        f"final  {_value(summary.final)} at step {summary.steps}",
        f"mean   {_value(mean.value)} over steps [0, {summary.steps}){estimated}",
    ]
