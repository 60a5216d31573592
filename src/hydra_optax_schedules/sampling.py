"""Which steps the viewer evaluates, and the mean learning rate from them.

A preview must not cost what the run costs: a run of ``2**63 - 1`` steps is drawn, summarized
and written from a few thousand steps. A run of at most :data:`EVERY_STEP_UP_TO` steps is
evaluated at every step. A longer one is cut into segments at step 0, the last step and every
phase boundary (``Phase.start`` and ``Phase.end`` of each schedule's phases), and sampled at:

- each segment's ends and the steps either side of them, so every phase's first and last step
  is in the sample;
- :data:`SPREAD` + 1 steps evenly spread over each segment;
- steps at geometrically growing distances ``round(GROWTH ** k)`` from both ends of each
  segment, which follow a curve that changes fast near one end over a long segment (an
  inverse-sqrt decay, a 1-sqrt cooldown, a steep exponential decay).

At most about :data:`MAX_POINTS_PER_SEGMENT` steps per segment, whatever the run's length.
Every phase of a schedule is monotone, so its extremes are at its first and last step: the
peak and the final value of the sample are those of the whole run.

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
    "EVERY_STEP_UP_TO",
    "EXACT_MEAN_UP_TO",
    "GROWTH",
    "SPREAD",
    "Mean",
    "mean_over_steps",
    "sample_steps",
    "segment_ends",
]

#: A run of at most this many steps is evaluated at every step ``0 .. steps``.
EVERY_STEP_UP_TO = 4096
#: Evenly spread steps per segment of a longer run (segments end at phase boundaries).
SPREAD = 1024
#: Ratio of successive distances from a segment's ends: 16 steps per doubling.
GROWTH = 2 ** (1 / 16)
#: The largest number of sampled steps in one segment: the spread, both ends' geometric steps
#: (16 per doubling up to 2**63) and the steps around the ends.
MAX_POINTS_PER_SEGMENT = SPREAD + 1 + 2 * 16 * 63 + 4
#: The mean over at most this many steps is computed from every step.
EXACT_MEAN_UP_TO = 10**6

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


def sample_steps(ends: Sequence[int], steps: int) -> np.ndarray:
    """The sorted, distinct steps in ``[0, steps]`` at which to evaluate a run's schedules.

    Args:
        ends: The segments' ends, from :func:`segment_ends`.
        steps: The run's length, ``1 <= steps <= 2**63 - 1``.

    Returns:
        An ``int64`` array: ``0 .. steps`` if ``steps <= EVERY_STEP_UP_TO``, else the sample
        described in the module's docstring.
    """
    if steps <= EVERY_STEP_UP_TO:
        return np.arange(steps + 1, dtype=np.int64)
    points: set[int] = set()
    for first, last in itertools.pairwise(ends):
        points.update(_segment(first, last))
    return np.fromiter(sorted(points), dtype=np.int64, count=len(points))


def _segment(first: int, last: int) -> set[int]:
    """The sampled steps of ``[first, last]``, all in Python ints (no int64 overflow)."""
    length = last - first
    offsets = {0, 1, length - 1, length}
    offsets.update(length * k // SPREAD for k in range(SPREAD + 1))
    distance = 1.0
    while distance < length:
        offsets.update((round(distance), length - round(distance)))
        distance *= GROWTH
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
    line over the integer steps ``x .. x + n - 1``. Linear phases are therefore exact. Its
    error is estimated as the difference from the same rule over every other sampled step
    (segment ends kept): for a smooth curve, halving the spacing divides the error by about
    4, so the difference is about 3 times the error of the finer rule.

    Values up to the largest float do not overflow: they are scaled by a power of two (exact)
    before summing, and the trapezoid weights are normalized first.
    """
    grid, values = sample
    if steps <= EXACT_MEAN_UP_TO:
        scale = _power_of_two_near(float(np.max(np.abs(values))))
        every_step = np.asarray(schedule(np.arange(steps, dtype=np.int64)), dtype=np.float64)
        total = float(np.sum(every_step / scale))
        return Mean(total / steps * scale, exact=True, relative_error=0.0, samples=steps)
    fine = float(np.sum(_trapezoid_weights(grid) * values))
    coarse_steps = np.zeros(len(grid), dtype=bool)
    coarse_steps[::2] = True
    coarse_steps[-1] = True
    coarse_steps |= np.isin(grid, np.asarray(ends, dtype=np.int64))
    coarse = float(np.sum(_trapezoid_weights(grid[coarse_steps]) * values[coarse_steps]))
    error = abs(fine - coarse) / abs(fine) if fine else 0.0
    return Mean(fine, exact=False, relative_error=max(error, ERROR_FLOOR), samples=len(grid))


def _trapezoid_weights(grid: Sequence[int] | np.ndarray) -> np.ndarray:
    """Weights summing to 1 that average the piecewise linear curve over ``[grid[0], grid[-1])``."""
    gaps = np.diff(np.asarray(grid, dtype=np.int64)).astype(np.float64)
    total = float(np.sum(gaps))
    weights = np.zeros(len(grid), dtype=np.float64)
    weights[:-1] += (gaps + 1) / 2 / total
    weights[1:] += (gaps - 1) / 2 / total
    return weights


def _power_of_two_near(value: float) -> float:
    """A power of two ``p`` with ``p <= value < 2 p`` (1.0 for 0): dividing by it is exact."""
    if value == 0 or not math.isfinite(value):
        return 1.0
    return math.ldexp(1.0, math.frexp(value)[1] - 1)
