"""Composed schedules on the host and in NumPy, at every step, against the spec's reference.

The same configs as the JAX tests of ``test_cycles.py``, ``test_cooldown_start.py``,
``test_multistep.py`` and ``test_stages.py`` cover, evaluated without JAX: Python steps (the
host path, ``bisect`` over the pieces) and NumPy arrays (the array path, indexed for more
than a few pieces), against ``composed_reference.composed_lr`` at every step of each run and
past its end; then, for those configs and for pieces of very unequal lengths, the steps on
either side of every boundary in every integer dtype, in float32 and float64, and at the
largest step each dtype holds. This file imports no JAX, so that mutation testing
(``.ci/mutation``) runs it.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest

from hydra_optax_schedules import SchedulerConfig, build_lr_scheduler

from support.composed_checks import build
from support.composed_reference import boundaries, composed_lr

STAGES_JUMP = (
    {"steps": 20, "shape": "linear", "start": 0.5, "end": 1.0},
    {"steps": 30, "shape": "cosine", "end": 0.2},
    {"fraction": 0.2, "shape": "exponential", "start": 0.4, "end": 0.01},
    {"steps": 15, "shape": "sqrt", "start": 0.3, "end": 0.05},
    {"shape": "polynomial", "start": 0.1, "end": 0.0, "power": 0.5},
)

CASES = {
    "sgdr": dict(name="cosine", decay_steps=120, cycles=4, cycle_mult=2.0, cycle_decay=0.5),
    "equal cycles, linear": dict(name="linear", decay_steps=100, cycles=5, end_lr_factor=0.1),
    "cycles with rewarmup steps": dict(
        name="cosine",
        decay_steps=150,
        warmup_steps=10,
        cycles=3,
        rewarmup_steps=7,
        warmup_shape="cosine",
        cooldown_steps=20,
        cooldown_lr=0.01,
    ),
    "cycles with a rewarmup fraction": dict(
        name="exponential",
        decay_steps=200,
        cycles=6,
        rewarmup_fraction=0.25,
        end_lr_factor=0.01,
        cycle_mult=1.5,
    ),
    "polynomial cycles": dict(name="polynomial", decay_steps=90, cycles=3, power=0.7),
    "branched cosine": dict(
        name="cosine",
        decay_steps=100,
        warmup_steps=5,
        cooldown_start=40,
        cooldown_steps=20,
        cooldown_shape="sqrt",
        end_lr_factor=0.1,
    ),
    "branched past the end": dict(
        name="linear",
        decay_steps=50,
        cooldown_start=70,
        cooldown_steps=10,
        cooldown_lr=0.3,
    ),
    "branched cycles": dict(
        name="cosine",
        decay_steps=100,
        cycles=4,
        cooldown_start=60,
        cooldown_fraction=0.1,
    ),
    "branched constant, open-ended": dict(
        name="constant",
        cooldown_start=30,
        cooldown_steps=12,
        cooldown_shape="cosine",
    ),
    "multistep": dict(name="multistep", decay_steps=100, milestones=(30, 60, 80)),
    "multistep fractions, cooldown": dict(
        name="multistep",
        decay_steps=101,
        milestone_fractions=(0.25, 0.5),
        decay_factor=0.5,
        warmup_steps=10,
        cooldown_steps=11,
    ),
    "multistep, many, open-ended": dict(
        name="multistep",
        milestones=tuple(range(10, 110, 10)),
        decay_factor=0.9,
    ),
    "stages with jumps and a rest": dict(name="stages", decay_steps=120, stages=STAGES_JUMP),
    "stages, warmup and cooldown": dict(
        name="stages",
        decay_steps=100,
        warmup_steps=10,
        cooldown_steps=10,
        stages=({"fraction": 0.5, "shape": "cosine", "end": 0.1}, {"shape": "constant"}),
    ),
    "stages, open-ended": dict(
        name="stages",
        stages=({"steps": 10, "end": 0.5}, {"steps": 10, "shape": "exponential", "end": 0.05}),
    ),
}


@pytest.mark.parametrize("fields", CASES.values(), ids=CASES.keys())
def test_every_step_equals_the_reference(fields):
    fields = {"lr": 2e-3, **fields}
    schedule = build_lr_scheduler(SchedulerConfig(**fields))
    last = (fields.get("decay_steps") or 150) + 30
    steps = list(range(-2, last))
    want = np.array([composed_lr(step, **fields) for step in steps])
    tolerance = {"rtol": 1e-12, "atol": 1e-15}
    np.testing.assert_allclose([schedule(step) for step in steps], want, **tolerance)
    np.testing.assert_allclose(schedule(np.array(steps)), want, **tolerance)
    halves = [step + 0.5 for step in steps]
    want_halves = [composed_lr(step, **fields) for step in halves]
    np.testing.assert_allclose([schedule(step) for step in halves], want_halves, **tolerance)
    np.testing.assert_allclose(schedule(np.array(halves)), want_halves, **tolerance)


@pytest.mark.parametrize("fields", CASES.values(), ids=CASES.keys())
def test_the_pieces_meet_where_the_reference_changes_piece(fields):
    """Each piece starts where the previous one ends, and holds the reference's value there."""
    fields = {"lr": 2e-3, **fields}
    phases = build_lr_scheduler(SchedulerConfig(**fields)).phases
    assert phases[0].start == 0
    for before, after in itertools.pairwise(phases):
        assert before.end == after.start
        assert after.start_value == pytest.approx(composed_lr(after.start, **fields), rel=1e-12)


# --- Either side of every boundary, in every dtype -----------------------------------------

ONE_STEP_STAGES = [{"steps": 1, "start": 1.0 / (j + 1), "end": 1.0 / (j + 2)} for j in range(12)]

UNEQUAL = {
    # Buckets of 4 steps (the table holds at most 2**16): the first holds 3 starts, so a step
    # is found by a lookup and 2 comparisons.
    "two 1-step stages, a long one, twice": dict(
        name="stages",
        stages=(
            {"steps": 1, "start": 0.5, "end": 1.0},
            {"steps": 1, "shape": "constant", "start": 0.75},
            {"steps": 200_000, "shape": "cosine", "start": 1.0, "end": 0.25},
            {"steps": 1, "shape": "sqrt", "start": 0.125, "end": 0.5},
            {"steps": 1, "shape": "constant", "start": 0.625},
            {"steps": 300_000, "shape": "exponential", "start": 0.5, "end": 0.01},
        ),
    ),
    # Twelve 1-step stages, ten million steps, one more stage: buckets of 153 steps, the
    # first holding 13 starts, more than a binary search over 14 has levels, so the binary
    # search finds each step's stage.
    "1-step stages, then a long one": dict(
        name="stages",
        stages=(
            *ONE_STEP_STAGES,
            {"steps": 10**7, "shape": "cosine", "end": 0.0},
            {"steps": 5, "start": 0.25, "end": 0.5},
        ),
    ),
    # Milestones at and past the largest int8, uint8, int16, uint16, int32 and uint32: an
    # array of such steps leaves out the pieces it cannot reach.
    "milestones at the integer limits": dict(
        name="multistep",
        milestones=(3, 127, 128, 255, 256, 32767, 32768, 65535, 65536, 2**31 - 1, 2**31, 2**32),
        decay_factor=0.5,
    ),
    "few pieces, a milestone at the largest int8": dict(
        name="multistep", milestones=(127, 128), decay_factor=0.5
    ),
    "few pieces, a decay ending at the largest int8": dict(
        name="linear", decay_steps=137, warmup_steps=10, end_lr_factor=0.25
    ),
    "few pieces, a cooldown ending at the largest int8": dict(
        name="cosine", decay_steps=127, warmup_steps=10, cooldown_steps=7, cooldown_lr=1e-4
    ),
    "many pieces, ending at the largest int16": dict(
        name="cosine", decay_steps=32767, cycles=5, cycle_mult=2.0, rewarmup_steps=100
    ),
    "many pieces, a cooldown ending at the largest uint8": dict(
        name="polynomial",
        decay_steps=255,
        cycles=3,
        power=0.5,
        cooldown_steps=30,
        cooldown_shape="sqrt",
    ),
}

EVERY_CASE = {**CASES, **UNEQUAL}
INTEGER_DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]


def steps_either_side(fields):
    """``b - 1``, ``b``, ``b + 1`` at every piece boundary ``b``, before 0, and far past."""
    near = {b + d for b in [0, *boundaries(fields)] for d in (-1, 0, 1)}
    return sorted(near | {-(2**40), -3, 10**9, 2**31 - 2, 2**40, 2**62})


def reference_at(fields, steps):
    return np.array([composed_lr(step, **fields) for step in steps], dtype=np.float64)


def pieces_of(fields):
    return len(build({"lr": 2e-3, **fields}).phases)


def test_the_cases_take_the_few_phase_path_the_table_and_the_binary_search():
    """The cases below exercise each way the array path finds a step's piece."""
    from hydra_optax_schedules.evaluate.indexed import _bucket_table
    from hydra_optax_schedules.evaluate.select import FEW_PIECES as _FEW_PHASES

    counts = {name: pieces_of(fields) for name, fields in UNEQUAL.items()}
    assert min(counts.values()) <= _FEW_PHASES < max(counts.values())
    extras = {}
    for name, fields in UNEQUAL.items():
        starts = tuple(p.start for p in build({"lr": 2e-3, **fields}).phases)
        if len(starts) > _FEW_PHASES:
            extras[name] = (_bucket_table(starts)[2], math.log2(len(starts)))
    assert extras["two 1-step stages, a long one, twice"][0] == 2
    assert extras["1-step stages, then a long one"] == (12, math.log2(14))


@pytest.mark.parametrize("fields", EVERY_CASE.values(), ids=EVERY_CASE.keys())
def test_python_and_numpy_steps_either_side_of_every_boundary(fields):
    fields = {"lr": 2e-3, **fields}
    schedule = build(fields)
    steps = steps_either_side(fields)
    want = reference_at(fields, steps)
    tolerance = {"rtol": 1e-12, "atol": 1e-15}
    np.testing.assert_allclose([schedule(step) for step in steps], want, **tolerance)
    np.testing.assert_allclose([schedule(float(step)) for step in steps], want, **tolerance)
    got = schedule(np.array(steps, dtype=np.int64))
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, want, **tolerance)
    halves = [step + 0.5 for step in steps if abs(step) < 2**40]
    want_halves = reference_at(fields, halves)
    np.testing.assert_allclose([schedule(step) for step in halves], want_halves, **tolerance)
    got = schedule(np.array(halves, dtype=np.float64))
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, want_halves, **tolerance)


@pytest.mark.parametrize("dtype", INTEGER_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("fields", EVERY_CASE.values(), ids=EVERY_CASE.keys())
def test_every_integer_dtype_either_side_of_every_boundary_it_holds(fields, dtype):
    """An integer array gives float64 values; pieces that start past its largest step are
    left out (no step of the array reaches them)."""
    fields = {"lr": 2e-3, **fields}
    schedule = build(fields)
    info = np.iinfo(dtype)
    steps = [s for s in steps_either_side(fields) if info.min <= s <= info.max]
    steps += [info.min, info.max - 1]
    want = reference_at(fields, steps)
    got = schedule(np.array(steps, dtype=dtype))
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    assert [schedule(dtype(s)) for s in steps[-2:]] == pytest.approx(want[-2:], rel=1e-12)


@pytest.mark.parametrize("dtype", INTEGER_DTYPES)
@pytest.mark.parametrize("fields", EVERY_CASE.values(), ids=EVERY_CASE.keys())
def test_the_largest_step_of_every_integer_dtype(fields, dtype):
    """A step at its dtype's largest value, past the sentinel that ends the last piece, is in
    the last piece (the comparisons with the next starts never read past them)."""
    fields = {"lr": 2e-3, **fields}
    schedule = build(fields)
    largest = int(np.iinfo(dtype).max)
    want = composed_lr(largest, **fields)
    assert schedule(largest) == pytest.approx(want, rel=1e-12)
    assert schedule(dtype(largest)) == pytest.approx(want, rel=1e-12)
    got = schedule(np.array([largest - 1, largest], dtype=dtype))
    want = [composed_lr(largest - 1, **fields), want]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("fields", EVERY_CASE.values(), ids=EVERY_CASE.keys())
def test_float32_steps_give_float32_values_of_the_rounded_step(fields):
    fields = {"lr": 2e-3, **fields}
    schedule = build(fields)
    steps = np.array([s for s in steps_either_side(fields) if abs(s) < 2**40], dtype=np.float32)
    steps = np.concatenate([steps, steps + np.float32(0.5)])
    want = reference_at(fields, [float(s) for s in steps])
    got = schedule(steps)
    assert got.dtype == np.float32
    peak = float(np.max(np.abs(want)))
    eps = float(np.finfo(np.float32).eps)
    np.testing.assert_allclose(got, want, rtol=16 * eps, atol=16 * eps * peak)
    assert schedule(np.float32(steps[-1])) == pytest.approx(want[-1], rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fields", EVERY_CASE.values(), ids=EVERY_CASE.keys())
def test_nan_steps_are_nan_and_minus_infinity_is_step_0(fields, dtype):
    fields = {"lr": 2e-3, **fields}
    schedule = build(fields)
    got = schedule(np.array([np.nan, -np.inf, 0.0, np.nan, 1.0], dtype=dtype))
    assert got.dtype == dtype
    assert np.isnan(got[[0, 3]]).all()
    want = [composed_lr(0, **fields), composed_lr(0, **fields), composed_lr(1, **fields)]
    np.testing.assert_allclose(got[[1, 2, 4]], want, rtol=1e-6 if dtype == np.float32 else 1e-12)
    assert math.isnan(schedule(math.nan))
    assert math.isnan(schedule(np.float32(math.nan)))
    assert schedule(-math.inf) == pytest.approx(want[0], rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fields", EVERY_CASE.values(), ids=EVERY_CASE.keys())
def test_infinity_is_past_the_end(fields, dtype):
    """An infinite step holds the final value: the table lookup clamps it to the last start."""
    fields = {"lr": 2e-3, **fields}
    schedule = build(fields)
    last = composed_lr(2**70, **fields)
    assert schedule(math.inf) == pytest.approx(last, rel=1e-12)
    got = schedule(np.array([np.inf, 1.0], dtype=dtype))
    assert got.dtype == dtype
    np.testing.assert_allclose(got[0], last, rtol=1e-6 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("fields", EVERY_CASE.values(), ids=EVERY_CASE.keys())
def test_arrays_keep_their_shape(fields):
    fields = {"lr": 2e-3, **fields}
    schedule = build(fields)
    steps = np.array(steps_either_side(fields)[:6], dtype=np.int64).reshape(2, 3)
    got = schedule(steps)
    assert got.shape == (2, 3)
    want = reference_at(fields, steps.ravel())
    np.testing.assert_allclose(got.ravel(), want, rtol=1e-12, atol=1e-15)
    assert schedule(np.array(7)).shape == ()


@pytest.mark.parametrize("fields", EVERY_CASE.values(), ids=EVERY_CASE.keys())
def test_each_piece_starts_and_ends_at_the_values_of_the_reference(fields):
    """A piece's ``start_value`` is the value at its first step, and its ``end_value`` the
    value its curve reaches at its end: the value just before the next piece takes over."""
    fields = {"lr": 2e-3, **fields}
    for phase in build(fields).phases:
        want = composed_lr(phase.start, **fields)
        assert phase.start_value == pytest.approx(want, rel=1e-12, abs=1e-18), phase
        if phase.end is not None:
            # A sqrt or power < 1 curve is steep at its end: 1e-12 steps before it (an exact
            # rational step), and 1e-6 of lr apart.
            want = composed_lr(phase.end - Fraction(1, 10**12), **fields)
            assert phase.end_value == pytest.approx(want, rel=1e-6, abs=1e-6 * 2e-3), phase


@pytest.mark.parametrize("fields", EVERY_CASE.values(), ids=EVERY_CASE.keys())
def test_the_final_value_holds_exactly_from_the_last_step_on(fields):
    """From the step where the last piece ends, every path gives the final value exactly."""
    fields = {"lr": 2e-3, **fields}
    schedule = build(fields)
    end = schedule.phases[-1].end
    if end is None:
        pytest.skip("the last piece never ends")
    final = composed_lr(2**70, **fields)
    steps = [end, end + 1, 2 * end + 7]
    assert [schedule(step) for step in steps] == [final] * 3
    for dtype in (np.int64, np.float64):
        assert schedule(np.array(steps, dtype=dtype)).tolist() == [final] * 3


def test_pieces_past_two_to_the_53_are_found_exactly_with_int64_steps():
    """Buckets are found in integers: a float64 division would round a step beyond 2**53 into
    the bucket before its own (3 * (2**58 + 1) is 3 * 2**58 as a float64)."""
    width = 2**58 + 1
    fields = {"lr": 1.0, "name": "multistep", "milestones": [i * width for i in range(1, 6)]}
    fields["decay_factor"] = 0.5
    steps = [i * width + d for i in range(1, 6) for d in (-1, 0, 1)]
    want = [composed_lr(step, **fields) for step in steps]
    assert build(fields)(np.array(steps, dtype=np.int64)).tolist() == want
    assert [build(fields)(step) for step in steps] == want
