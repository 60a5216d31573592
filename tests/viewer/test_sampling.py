"""The viewer's sample of a run's steps, and the mean learning rate computed from it.

The values sampled are the package's own (checked against the reference elsewhere); what is
tested here is the sampling and the averaging: which steps are in the sample, and how close the
sampled mean comes to the mean over every step.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hydra_optax_schedules import build_lr_scheduler
from hydra_optax_schedules.viewer.sampling import (
    BUDGET,
    EVERY_STEP_UP_TO,
    EXACT_MEAN_UP_TO,
    PER_SEGMENT,
    mean_over_steps,
    sample_steps,
    segment_ends,
)


def sample_of(config: dict, steps: int):
    schedule = build_lr_scheduler(config)
    ends = segment_ends([(phase.start, phase.end) for phase in schedule.phases], steps)
    grid = sample_steps(ends, steps, lambda at: np.abs(np.asarray(schedule(at), dtype=float)))
    return schedule, ends, grid


@pytest.mark.parametrize("steps", [1, 2, 100, EVERY_STEP_UP_TO])
def test_a_short_run_is_evaluated_at_every_step(steps):
    _, _, grid = sample_of(dict(lr=1.0, name="cosine", decay_steps=steps), steps)

    np.testing.assert_array_equal(grid, np.arange(steps + 1))


@pytest.mark.parametrize("steps", [EVERY_STEP_UP_TO + 1, 10**6, 10**12, 2**63 - 1])
def test_a_long_run_is_a_bounded_sample_holding_both_sides_of_every_boundary(steps):
    config = dict(lr=1.0, name="cosine", decay_steps=steps // 2, warmup_steps=7)
    config["cooldown_steps"] = steps // 4
    _, ends, grid = sample_of(config, steps)

    assert grid.dtype == np.int64
    assert grid[0] == 0 and grid[-1] == steps
    assert (np.diff(grid) > 0).all()
    segments = len(ends) - 1
    assert segments == 4  # warmup, main, cooldown, and the hold after decay_steps
    assert len(grid) <= BUDGET + PER_SEGMENT * segments
    boundaries = [7, steps // 2 - steps // 4, steps // 2]
    present = set(grid.tolist())
    for boundary in boundaries:
        assert {boundary - 1, boundary, boundary + 1} <= present


def test_two_schedules_share_one_sample_with_both_boundaries():
    steps = 10**9
    first = build_lr_scheduler(dict(lr=1.0, name="linear", decay_steps=steps, warmup_steps=10))
    second = build_lr_scheduler(dict(lr=1.0, name="linear", decay_steps=12345))
    spans = [(phase.start, phase.end) for s in (first, second) for phase in s.phases]

    grid = sample_steps(segment_ends(spans, steps), steps)

    assert {9, 10, 11, 12344, 12345, 12346} <= set(grid.tolist())


MEAN_CASES = {
    "cosine, warmup, cooldown": dict(
        name="cosine", warmup_steps=5000, cooldown_steps=100_000, end_lr_factor=0.1
    ),
    "1-sqrt cooldown": dict(name="cosine", cooldown_shape="sqrt", cooldown_fraction=0.2),
    "wsd": dict(name="wsd", warmup_steps=100),
    "inverse sqrt, short timescale": dict(name="inverse_sqrt", timescale=1.0),
    "inverse sqrt with warmup": dict(name="inverse_sqrt", timescale=100.0, warmup_steps=100),
    "exponential to 1e-37": dict(name="exponential", end_lr=1e-37),  # float32 holds it
    "polynomial, power 0.1": dict(name="polynomial", power=0.1),
    "polynomial, power 50": dict(name="polynomial", power=50.0),
    "ends long before the run": dict(name="cosine", decay_steps=1000, warmup_steps=100),
}


@pytest.mark.parametrize("case", MEAN_CASES.values(), ids=MEAN_CASES.keys())
def test_a_sampled_mean_is_within_its_stated_error_of_the_mean_over_every_step(case):
    steps = EXACT_MEAN_UP_TO + 500_000
    config = dict(lr=1e-3, decay_steps=steps) | case
    schedule, ends, grid = sample_of(config, steps)
    values = np.asarray(schedule(grid), dtype=np.float64)

    mean = mean_over_steps(schedule, steps, (grid, values), ends)

    every_step = float(np.mean(schedule(np.arange(steps))))
    error = abs(mean.value - every_step) / every_step
    assert not mean.exact and mean.samples == len(grid)
    assert error <= mean.relative_error
    assert mean.relative_error < 1e-3  # so the printed 4 significant digits are about right


def test_a_mean_over_few_enough_steps_is_exact():
    steps = 100_000
    schedule, ends, grid = sample_of(dict(lr=1.0, name="linear", decay_steps=steps), steps)

    mean = mean_over_steps(schedule, steps, (grid, schedule(grid)), ends)

    assert mean.exact and mean.relative_error == 0 and mean.samples == steps
    # sum_{s < D} (1 - s / D) = (D + 1) / 2
    assert mean.value == pytest.approx((steps + 1) / (2 * steps), rel=1e-14)


@pytest.mark.parametrize("steps", [1000, 10**7])
def test_the_mean_of_values_near_the_largest_float_does_not_overflow(steps):
    largest = np.finfo(np.float64).max

    def flat(at):
        return np.full(np.shape(at), largest)

    ends = [0, steps]
    grid = sample_steps(ends, steps)

    mean = mean_over_steps(flat, steps, (grid, flat(grid)), ends)

    assert mean.value == pytest.approx(largest, rel=1e-12)


def test_segments_are_cut_at_every_phase_end_inside_the_run():
    spans = [(0, 10), (10, None), (5, 2**70)]

    assert segment_ends(spans, 100) == [0, 5, 10, 100]
    assert list(itertools.pairwise(segment_ends([], 3))) == [(0, 3)]


MANY_PIECES = {
    "10000 linear cycles": (10**8, dict(name="linear", cycles=10000)),
    "1000 cosine cycles": (10**12, dict(name="cosine", cycles=1000)),
    "10000 re-warmed cycles over 2**63 - 1": (
        2**63 - 1,
        dict(name="cosine", cycles=10000, rewarmup_steps=1000, warmup_steps=10**6),
    ),
    "100 stages that jump": (
        10**8,
        dict(
            name="stages",
            stages=[{"fraction": 0.01, "shape": "cosine", "start": 1.0, "end": 0.5}] * 100,
        ),
    ),
    "1000 milestones": (
        10**9,
        dict(name="multistep", milestones=list(range(10**5, 10**8 + 1, 10**5)), decay_factor=0.999),
    ),
}


@pytest.mark.parametrize(("steps", "case"), MANY_PIECES.values(), ids=MANY_PIECES.keys())
def test_the_sample_of_many_pieces_is_a_budget_plus_a_few_steps_per_piece(steps, case):
    schedule, ends, grid = sample_of(dict(lr=1.0, decay_steps=steps) | case, steps)

    pieces = len(schedule.phases)
    assert len(ends) - 1 <= pieces + 1  # a segment per piece, and the hold after the last
    assert len(grid) <= BUDGET + PER_SEGMENT * (pieces + 1)
    assert len(grid) <= 6100 + 7 * (pieces + 1)  # the same in numbers: 2 * 3040 + 7 per piece
    present = set(grid.tolist())
    for phase in schedule.phases:
        around = {phase.start - 1, phase.start, phase.start + 1}
        assert {step for step in around if 0 <= step <= steps} <= present


MANY_PIECE_MEANS = {
    "linear cycles": dict(name="linear", cycles=1000),
    "cosine cycles, peaks decaying": dict(name="cosine", cycles=1000, cycle_decay=0.999),
    "steep exponential cycles": dict(name="exponential", cycles=1000, end_lr=1e-9),
    "re-warmed exponential cycles": dict(
        name="exponential", cycles=300, end_lr=1e-6, rewarmup_fraction=0.1
    ),
    "polynomial cycles, power 50": dict(name="polynomial", cycles=1000, power=50.0),
    "1000 milestones": dict(
        name="multistep", milestones=list(range(1000, 10**6 + 1, 1000)), decay_factor=0.999
    ),
    "1-sqrt stages": dict(
        name="stages", stages=[{"steps": 1500, "shape": "sqrt", "end": 0.0, "start": 1.0}] * 1000
    ),
    "exponential stages over 30 decades": dict(
        name="stages",
        stages=[{"steps": 15000, "shape": "exponential", "start": 1.0, "end": 1e-30}] * 100,
    ),
}


@pytest.mark.parametrize("case", MANY_PIECE_MEANS.values(), ids=MANY_PIECE_MEANS.keys())
def test_a_mean_over_many_pieces_is_within_its_stated_error(case):
    """Each piece gets few steps of the shared sample; the stated error stays an upper bound
    (a line or a constant is still exact)."""
    steps = EXACT_MEAN_UP_TO + 500_000
    schedule, ends, grid = sample_of(dict(lr=1e-3, decay_steps=steps) | case, steps)

    mean = mean_over_steps(schedule, steps, (grid, schedule(grid)), ends)

    every_step = float(np.mean(np.asarray(schedule(np.arange(steps)), dtype=np.float64)))
    assert abs(mean.value - every_step) <= mean.relative_error * mean.value
    if case["name"] in ("linear", "multistep"):
        assert mean.relative_error == 1e-6
