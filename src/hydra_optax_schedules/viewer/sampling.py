"""Which steps the viewer evaluates, and the mean learning rate from them.

A preview must not cost what the run costs: a run of ``2**63 - 1`` steps, or of 10000 cycles,
is drawn, summarized and written from a bounded sample. A run of at most
:data:`EVERY_STEP_UP_TO` steps is evaluated at every step. A longer one is cut into segments
at step 0, the last step and every phase boundary (``Phase.start`` and ``Phase.end`` of each
schedule's phases), and sampled at:

- every segment end and the steps either side of it, so every phase's first and last step is
  in the sample (a jump is drawn, summarized and averaged exactly);
- :data:`MIN_SPREAD` + 1 steps evenly spread over each segment, or more: its share of
  :data:`SPREAD` + 1 steps spread over the whole run;
- its share of the steps at geometrically growing distances ``round(GROWTH ** k)`` from both
  ends of a segment (16 per doubling for a segment that is the whole run), which follow a
  curve that changes fast near one end over a long segment (an inverse-sqrt decay, a 1-sqrt
  cooldown, a steep exponential decay).

A segment's share is the larger of its share of the run's steps and its share of the run's
largest possible sum of values (its length times the largest value at its sampled ends: every
phase is monotone), so a segment that holds most of the mean is sampled as finely as a whole
run, and so is one that holds most of the steps. The shares add up to at most 2, so the
sample has at most :data:`BUDGET` steps plus :data:`PER_SEGMENT` per segment, whatever the
run's length; the number of segments is the number of phases the user wrote. Every phase
of a schedule is monotone, so its extremes are at its first and last step: the peak and the
final value of the sample are those of the whole run.

The mean over the run's updates, steps ``0 .. steps - 1``, is :func:`mean_over_steps`: exact
(every step evaluated) up to :data:`EXACT_MEAN_UP_TO` steps, else the mean of the piecewise
linear curve through the samples (the trapezoid rule within each segment, summed over integer
steps).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "BUDGET",
    "EVERY_STEP_UP_TO",
    "EXACT_MEAN_UP_TO",
    "GROWTH",
    "MIN_SPREAD",
    "PER_SEGMENT",
    "SPREAD",
    "Mean",
    "mean_over_steps",
    "pinned_steps",
    "sample_steps",
    "segment_ends",
]

#: A run of at most this many steps is evaluated at every step ``0 .. steps``.
EVERY_STEP_UP_TO = 4096
#: Evenly spread steps over a longer run, shared among its segments.
SPREAD = 1024
#: The fewest evenly spread intervals in a segment, so that its mean's error is estimated.
MIN_SPREAD = 4
#: Geometric distances from a segment's ends, per doubling, for a segment of the whole run.
PER_DOUBLING = 16
#: Ratio of successive distances from the ends of a segment that is the whole run.
GROWTH = 2 ** (1 / PER_DOUBLING)
#: The most sampled steps shared among segments: the spread and both ends' geometric steps
#: (up to 2**63) of a whole run, twice (the segments' shares add up to at most 2).
BUDGET = 2 * (SPREAD + 2 * PER_DOUBLING * 63)
#: The most sampled steps a segment adds beyond its share: its end and the steps either side
#: of it, and its fewest spread steps.
PER_SEGMENT = 3 + MIN_SPREAD
#: The mean over at most this many steps is computed from every step.
EXACT_MEAN_UP_TO = 10**6
#: A segment with this many sampled steps besides its ends and their neighbours has its mean's
#: error estimated by halving the spacing; a sparser one, by monotonicity.
WELL_SAMPLED = 64
#: Relative differences below this are rounding: the rule is exact there.
ROUNDING = 1e-12

#: The smallest relative error claimed for a sampled mean. Besides the rule's own error, which
#: the estimate measures, a sum over integer steps differs from the curve's integral by terms
#: of order 1 / steps (Euler-Maclaurin), below 1e-6 for the runs that are sampled.
ERROR_FLOOR = 1e-6


def segment_ends(phase_spans: Iterable[tuple[int, int | None]], steps: int) -> list[int]:
    """Step 0, the last step and every phase boundary in ``[0, steps]``, sorted.

    Args:
        phase_spans: ``(start, end)`` of every phase of every schedule previewed together
            (``end`` is ``None`` for a phase that never ends).
        steps: The run's length.
    """
    ends = {0, steps}
    for start, end in phase_spans:
        ends.update(step for step in (start, end) if step is not None and 0 <= step <= steps)
    return sorted(ends)


def pinned_steps(ends: Sequence[int], steps: int) -> np.ndarray:
    """Every segment end and the steps either side of it within ``[0, steps]``, sorted."""
    around = {step + side for step in ends for side in (-1, 0, 1)}
    return np.array(sorted(step for step in around if 0 <= step <= steps), dtype=np.int64)


def sample_steps(
    ends: Sequence[int],
    steps: int,
    magnitude: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """The sorted, distinct steps in ``[0, steps]`` at which to evaluate a run's schedules.

    Args:
        ends: The segments' ends, from :func:`segment_ends`.
        steps: The run's length, ``1 <= steps <= 2**63 - 1``.
        magnitude: The largest absolute value of the run's schedules at given steps (an
            ``int64`` array of the segments' ends and their neighbours); without it, segments
            share the sample by length only.

    Returns:
        An ``int64`` array: ``0 .. steps`` if ``steps <= EVERY_STEP_UP_TO``, else the sample
        described in the module's docstring.
    """
    if steps <= EVERY_STEP_UP_TO:
        return np.arange(steps + 1, dtype=np.int64)
    pinned = pinned_steps(ends, steps)
    largest = None
    if magnitude is not None:
        largest = dict(zip(pinned.tolist(), magnitude(pinned).tolist(), strict=True))
    points = set(pinned.tolist())
    for (first, last), share in zip(
        itertools.pairwise(ends), _shares(ends, steps, largest), strict=True
    ):
        points.update(_segment(first, last, share))
    return np.fromiter(sorted(points), dtype=np.int64, count=len(points))


def _shares(ends: Sequence[int], steps: int, largest: dict[int, float] | None) -> list[float]:
    """Each segment's share of the sample: the larger of its share of the steps and its share
    of the largest sum of values (length times the largest value at its ends); the shares of
    the steps add up to 1, and so do those of the sums, so the shares add up to at most 2."""
    lengths = [(last - first) / steps for first, last in itertools.pairwise(ends)]
    if largest is None:
        return lengths
    top = max(largest.values())
    if not top > 0 or not math.isfinite(top):
        return lengths
    mass = [
        length * max(largest[s] for s in (first, first + 1, last - 1, last)) / top
        for length, (first, last) in zip(lengths, itertools.pairwise(ends), strict=True)
    ]
    total = sum(mass)
    return [max(length, m / total) for length, m in zip(lengths, mass, strict=True)]


def _segment(first: int, last: int, share: float) -> set[int]:
    """The sampled steps of ``[first, last]``, all in Python ints (no int64 overflow)."""
    length = last - first
    offsets = {0, 1, length - 1, length}
    spread = max(MIN_SPREAD, math.ceil(SPREAD * share))
    offsets.update(length * k // spread for k in range(spread + 1))
    # Distances 2 ** (k / density), k = 0, 1, ..., up to the segment's length.
    density = PER_DOUBLING * share
    doublings = math.log2(length) if length > 0 else 0.0
    for k in range(math.ceil(density * doublings)):
        distance = round(2 ** (k / density))
        offsets.update((distance, length - distance))
    return {first + offset for offset in offsets if 0 <= offset <= length}


@dataclass(frozen=True)
class Mean:
    """The mean learning rate over a run's updates, steps ``0 .. steps - 1``.

    Attributes:
        value: The mean.
        exact: Computed from every step (else from the sampled steps).
        relative_error: 0 if exact; else an estimate of ``|value - exact mean| / value``.
        samples: How many steps it was computed from.
    """

    value: float
    exact: bool
    relative_error: float
    samples: int


def mean_over_steps(
    schedule: Callable[[np.ndarray], Any],
    steps: int,
    sample: tuple[np.ndarray, np.ndarray],
    ends: Sequence[int],
) -> Mean:
    """The mean of ``schedule`` over steps ``0 .. steps - 1``.

    Exact when ``steps <= EXACT_MEAN_UP_TO``: every step is evaluated. Otherwise it
    is the mean over those steps of the curve that is linear between consecutive sampled steps
    (``sample``: the steps and the schedule's values there): the segment from ``x`` to
    ``x + n`` contributes ``(n + 1) / 2 * f(x) + (n - 1) / 2 * f(x + n)``, the sum of that
    line over the integer steps ``x .. x + n - 1``. Linear phases, and the jumps between
    phases (a segment's end and the step before it are both sampled), are therefore exact.

    Its error is the sum of each segment's, estimated from the same rule over every other of
    the segment's sampled steps (its ends and their neighbours kept). In a segment of at least
    :data:`WELL_SAMPLED` steps besides those, it is the difference between the two: for a
    smooth curve, halving the spacing divides the error by about 4, so the difference is about
    3 times the error of the finer rule. A segment sampled more sparsely (one of many pieces)
    is bounded by monotonicity instead: between sampled steps ``x`` and ``x + n`` of one phase
    every value lies between ``f(x)`` and ``f(x + n)``, so the rule is off by at most
    ``(n - 1) / 2 * |f(x + n) - f(x)|``; unless the rule over every step, every other step and
    every fourth step agree to rounding (a line, a constant), where it is exact.

    Values up to the largest float do not overflow: they are scaled by a power of two (exact)
    before summing, and each gap's weight is divided by the run's length first.
    """
    grid, values = sample
    scale = _power_of_two_near(float(np.max(np.abs(values))))
    if steps <= EXACT_MEAN_UP_TO:
        every_step = np.asarray(schedule(np.arange(steps, dtype=np.int64)), dtype=np.float64)
        total = float(np.sum(every_step / scale))
        return Mean(total / steps * scale, exact=True, relative_error=0.0, samples=steps)
    values = values / scale
    bounds = np.asarray(ends, dtype=np.int64)
    segment = np.searchsorted(bounds, grid, side="left")  # (ends[j - 1], ends[j]] is j
    rank = _rank_in_segment(grid, segment, pinned_steps(ends, steps))
    fine, monotone = _segment_sums(grid, values, segment, rank >= 0, len(bounds), steps)
    half, _ = _segment_sums(grid, values, segment, rank % 2 == 0, len(bounds), steps)
    quarter, _ = _segment_sums(grid, values, segment, rank % 4 == 0, len(bounds), steps)
    finer, coarser = np.abs(fine - half), np.abs(half - quarter)
    exact = np.maximum(finer, coarser) <= ROUNDING * np.abs(fine)
    well_sampled = np.bincount(segment[rank > 0], minlength=len(bounds)) >= WELL_SAMPLED
    error = np.where(well_sampled | exact, finer, monotone)
    # A mean lies within the values' range; rounding could take it an ulp past the largest float.
    mean = float(np.clip(np.sum(fine), np.min(values), np.max(values)))
    relative = float(np.sum(error)) / abs(mean) if mean else 0.0
    return Mean(
        mean * scale, exact=False, relative_error=max(relative, ERROR_FLOOR), samples=len(grid)
    )


def _rank_in_segment(grid: np.ndarray, segment: np.ndarray, pinned: np.ndarray) -> np.ndarray:
    """Each sampled step's rank, 1, 2, ..., among its segment's steps other than the segment
    ends and their neighbours, which are ranked 0 (kept by every rule)."""
    free = ~np.isin(grid, pinned)
    count = np.cumsum(free)
    first = np.searchsorted(segment, segment, side="left")  # the segment's first index
    rank: np.ndarray = np.where(free, count - count[first] + free[first], 0)
    return rank


def _segment_sums(
    grid: np.ndarray,
    values: np.ndarray,
    segment: np.ndarray,
    kept: np.ndarray,
    segments: int,
    steps: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Per segment, the sum over its integer steps of the line through the ``kept`` samples,
    and the monotone bound on that sum's error, both divided by ``steps``."""
    at, value = grid[kept], values[kept]
    gaps = np.diff(at).astype(np.float64)
    ahead, behind = (gaps + 1) / 2 / steps, (gaps - 1) / 2 / steps
    sums = ahead * value[:-1] + behind * value[1:]
    spread = behind * np.abs(value[1:] - value[:-1])
    owner = segment[kept][1:]  # a gap belongs to the segment of its right end
    return (
        np.bincount(owner, weights=sums, minlength=segments),
        np.bincount(owner, weights=spread, minlength=segments),
    )


def _power_of_two_near(value: float) -> float:
    """A power of two ``p`` with ``p <= value < 2 p`` (1.0 for 0): dividing by it is exact."""
    if value == 0 or not math.isfinite(value):
        return 1.0
    return math.ldexp(1.0, math.frexp(value)[1] - 1)
