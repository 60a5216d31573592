"""Two schedules compared up to a step and after it, without visiting every step.

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

A run counted in a unit (samples, tokens, epochs) has its pieces counted in the unit: its
stretches are cut, in steps, where each piece starts (the first step whose count reaches it)
and where each segment of its batch ramp starts, and its formula on a stretch is the piece's
with the segment's map ``count = C_i + (s - S_i) * r_i`` and learning-rate factor: two
stretches with the same formula have the same value at every step, whatever the units (a
constant's formula holds only the factor: its value does not read the count).
"""

from __future__ import annotations

import bisect
import math
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hydra_optax_schedules.config.schema import SchedulerConfig
from hydra_optax_schedules.errors import IgnoredFieldWarning
from hydra_optax_schedules.piece import Piece
from hydra_optax_schedules.schedule import Schedule, build_lr_scheduler
from hydra_optax_schedules.shapes import BUILTIN_SHAPES, SHAPES

__all__ = ["SCANNED_STEPS", "Change", "Saved", "compare_schedules", "rebuilt"]

#: What a checkpoint holds of a schedule: :func:`saved_config`'s data, a config, or the schedule.
Saved = Mapping[str, Any] | SchedulerConfig | Schedule
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


def compare_schedules(saved: Schedule, current: Schedule, step: int) -> tuple[Change | None, ...]:
    """``(moved, reshaped)``: the first change at a step ``<= step``, and at a step ``> step``
    (``None`` where the values are identical), found by comparing the pieces (the module)."""
    moved = reshaped = None
    for low, high, a, b in _stretches(saved, current):
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


def rebuilt(saved: Saved) -> Schedule:
    """The saved schedule: a field without effect was warned about when it was first built."""
    if isinstance(saved, Schedule):
        return saved
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IgnoredFieldWarning)
        return build_lr_scheduler(saved)


def changed_fields(
    saved: SchedulerConfig, current: SchedulerConfig
) -> tuple[tuple[str, Any, Any], ...]:
    """The fields that differ, a nested node's (``units``) by its own keys (``units.decay``)."""
    before, after = saved.to_dict(), current.to_dict()
    changed = []
    for name in before:
        old, new = before[name], after[name]
        if isinstance(old, Mapping) and isinstance(new, Mapping):
            keys = [*old, *(key for key in new if key not in old)]
            changed += [
                (f"{name}.{key}", old.get(key), new.get(key))
                for key in keys
                if old.get(key) != new.get(key)
            ]
        elif old != new:
            changed.append((name, old, new))
    return tuple(changed)


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


def _segments(schedule: Schedule) -> list[tuple[int, tuple[Any, ...]]]:
    """``(first step, formula)`` of each piece, and of the hold after the last one; for a run
    counted in a unit, of each stretch of steps in one piece and one ramp segment (module)."""
    pieces = schedule.pieces
    segments = [(p.start, _formula(p, False)) for p in pieces]
    last = pieces[-1]
    if last.end is not None:
        segments.append((last.end, _formula(last, True)))
    units = schedule._units
    if units is None or (units.identity and not units.scaled):
        return segments
    begins = [count for count, _ in segments]
    steps = sorted({units.step_at(count) for count in begins} | set(units.starts))
    in_steps = []
    for step in steps:
        count = units.count_at(step)
        formula = segments[max(bisect.bisect_right(begins, count) - 1, 0)][1]
        i = units.segment(step)
        ramp: tuple[Any, ...] = (units.starts[i], units.counts[i], units.rates[i])
        if formula[0] == "constant":  # its value does not read the count
            ramp = ()
        ramp = (*ramp, units.scales[i])
        in_steps.append((step, (*formula, ramp)))
    return in_steps


def _stretches(
    saved: Schedule, current: Schedule
) -> list[tuple[int, int | None, tuple[Any, ...], tuple[Any, ...]]]:
    """``[low, high)`` stretches of steps (``high`` ``None``: forever) on which each schedule
    is one formula, with the two formulas."""
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
