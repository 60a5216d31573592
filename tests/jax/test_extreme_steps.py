"""Steps at the edges: int32 up to 2**31 - 1, int64 with x64 enabled, other integer types,
float steps, negative steps, empty and multi-dimensional arrays, run lengths in the billions,
and huge Python ints on the host, all against the float64 reference.
"""

from __future__ import annotations

import math

import jax
import jax.experimental
import jax.numpy as jnp
import numpy as np
import pytest

from hydra_optax_schedules import SchedulerConfig, build_lr_scheduler

from support.composed_reference import boundaries as composed_boundaries
from support.composed_reference import composed_lr
from support.reference import reference_lr
from support.tolerance import float32_tolerance, host_tolerance, lengths

INT32_MAX, INT64_MAX = 2**31 - 1, 2**63 - 1
EPS32 = float(np.finfo(np.float32).eps)
# The x64 context manager: ``jax.enable_x64`` in current JAX, ``jax.experimental`` before.
ENABLE_X64 = jax.enable_x64 if hasattr(jax, "enable_x64") else jax.experimental.enable_x64

# Phases that end near, at or past the largest int32 step, runs in the billions, open runs.
CASES = {
    "cosine-short": dict(
        name="cosine",
        lr=1e-3,
        decay_steps=100,
        warmup_steps=10,
        cooldown_steps=20,
        end_lr_factor=0.1,
        cooldown_lr=1e-5,
    ),
    "wsd-ends-at-int32-max": dict(name="wsd", lr=1.0, decay_steps=INT32_MAX, warmup_steps=1000),
    "linear-cooldown-across-int32-max": dict(
        name="linear",
        lr=1.0,
        decay_steps=2**31 + 1000,
        warmup_steps=5,
        cooldown_steps=3000,
        end_lr=0.1,
        cooldown_lr=0.01,
    ),
    "polynomial-5e9": dict(
        name="polynomial",
        lr=1.0,
        decay_steps=5 * 10**9,
        warmup_fraction=0.1,
        power=0.5,
        end_lr_factor=0.01,
    ),
    "exponential-5e9-cooldown-beyond-int32": dict(
        name="exponential",
        lr=1.0,
        decay_steps=5 * 10**9,
        cooldown_fraction=0.5,
        end_lr=1e-3,
        cooldown_shape="sqrt",
    ),
    "inverse-sqrt-open-ended": dict(
        name="inverse_sqrt", lr=1.0, decay_steps=None, warmup_steps=10**6, timescale=1e4
    ),
    "constant-open-ended": dict(name="constant", lr=0.5, decay_steps=None, warmup_steps=3),
}


def build(case):
    return build_lr_scheduler(SchedulerConfig(**case))


def boundaries(case, largest):
    """Every phase boundary and its neighbours, the ends of the range, and steps between."""
    D, W, C = lengths(case)
    end = D if D is not None else 2 * W + 100
    steps = {0, 1, largest - 1, largest}
    for b in (W, end - C, end):
        steps |= {b - 1, b, b + 1}
    steps |= {int(s) for s in np.linspace(0, largest, 101)}
    return sorted(s for s in steps if 0 <= s <= largest)


def reference(case, steps):
    return np.array([reference_lr(s, **case) for s in steps])


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_int32_steps_up_to_the_largest_do_not_overflow(case):
    schedule = build(case)
    steps = [*boundaries(case, INT32_MAX), -(2**31), -1]
    on_device = jnp.array(steps, dtype=jnp.int32)
    want = reference(case, steps)
    for values in (schedule(on_device), jax.jit(schedule)(on_device)):
        assert values.dtype == jnp.float32
        values = np.asarray(values, dtype=np.float64)
        assert np.all(np.isfinite(values)) and np.all(values >= 0)
        assert np.all(np.abs(values - want) <= float32_tolerance(case, steps))


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_int64_steps_with_x64_enabled(case):
    """With x64, JAX computes in float64: the reference's precision, up to 2**63 - 1."""
    schedule = build(case)
    steps = [*boundaries(case, INT64_MAX), 2**31, 2**32, 2**53 + 1, -(2**63)]
    want = reference(case, steps)
    with ENABLE_X64(True):
        on_device = jnp.array(steps, dtype=jnp.int64)
        for values in (schedule(on_device), jax.jit(schedule)(on_device)):
            assert values.dtype == jnp.float64
            np.testing.assert_allclose(np.asarray(values), want, **host_tolerance(case, steps))


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_numpy_and_host_steps_in_the_billions_and_beyond(case):
    schedule = build(case)
    steps = boundaries(case, INT64_MAX)
    want = reference(case, steps)
    vectorized = schedule(np.array(steps, dtype=np.int64))
    np.testing.assert_allclose(vectorized, want, **host_tolerance(case, steps))
    np.testing.assert_allclose([schedule(s) for s in steps], want, **host_tolerance(case, steps))


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_huge_python_ints_hold_the_final_value(case):
    schedule = build(case)
    for step in (2**63, 2**64 + 1, 10**30, 10**100):
        assert schedule(step) == pytest.approx(reference_lr(step, **case), rel=1e-12, abs=0)


@pytest.mark.parametrize(
    "dtype", [np.int8, np.int16, np.uint8, np.uint16, np.uint32, np.uint64, np.int32]
)
def test_other_integer_types(dtype):
    """Phases that start beyond a small type's range are never reached, never wrapped into."""
    case = CASES["cosine-short"]
    schedule = build(case)
    steps = [
        s for s in (0, 5, 9, 10, 11, 50, 79, 80, 99, 100, 101, 127, 255) if s <= np.iinfo(dtype).max
    ]
    want = reference(case, steps)
    np.testing.assert_allclose(
        schedule(np.array(steps, dtype=dtype)), want, **host_tolerance(case, steps)
    )
    if np.dtype(dtype).itemsize <= 4:  # JAX without x64 has no 64-bit integers
        jitted = np.asarray(jax.jit(schedule)(jnp.array(steps, dtype=dtype)), dtype=np.float64)
        assert np.all(np.abs(jitted - want) <= float32_tolerance(case, steps))


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_float_steps_fractional_huge_and_infinite(case):
    schedule = build(case)
    D, W, _ = lengths(case)
    steps = [-math.inf, -1.5, 0.0, 0.5, 2.5, W - 0.5, W + 0.25, 3e9, 1e12, math.inf]
    if D is not None:
        steps += [D - 0.5, float(D), D + 0.5]
    want = reference(case, steps)
    np.testing.assert_allclose([schedule(s) for s in steps], want, **host_tolerance(case, steps))
    np.testing.assert_allclose(
        schedule(np.array(steps, dtype=np.float64)), want, **host_tolerance(case, steps)
    )
    on_device = jnp.array(steps, dtype=jnp.float32)
    steps32 = [float(s) for s in np.array(steps, dtype=np.float32)]  # what float32 can hold
    for values in (schedule(on_device), jax.jit(schedule)(on_device)):
        assert values.dtype == jnp.float32
        values = np.asarray(values, dtype=np.float64)
        error = np.abs(values - reference(case, steps32))
        assert np.all(error <= float32_tolerance(case, steps32))


def test_negative_steps_are_step_zero():
    case = dict(name="cosine", lr=1.0, decay_steps=10, warmup_steps=4, warmup_start_lr=0.25)
    schedule = build(case)
    at_zero = schedule(0)
    assert at_zero == 0.25
    for step in (-1, -(10**30), -math.inf, np.int64(-(2**63)), -1.5):
        assert schedule(step) == at_zero
    for steps in (np.array([-1, -(2**63)], dtype=np.int64), np.array([-0.5, -np.inf])):
        assert schedule(steps).tolist() == [at_zero, at_zero]
    for dtype in (jnp.int32, jnp.float32):
        on_device = jnp.array([-1, -(2**31)], dtype=dtype)
        assert np.asarray(jax.jit(schedule)(on_device)).tolist() == [at_zero, at_zero]


@pytest.mark.parametrize("shape", [(0,), (3, 0), (), (2, 3, 4), (1, 1, 5)])
def test_empty_scalar_and_multidimensional_arrays_keep_their_shape(shape):
    case = CASES["cosine-short"]
    schedule = build(case)
    steps = (np.arange(math.prod(shape), dtype=np.int64) * 7 - 3).reshape(shape)
    want = reference(case, steps.ravel().tolist()).reshape(shape)
    vectorized = schedule(steps)
    assert vectorized.shape == shape and vectorized.dtype == np.float64
    np.testing.assert_allclose(vectorized, want, **host_tolerance(case, [0]))
    on_device = jnp.asarray(steps, dtype=jnp.int32)
    tolerance = float32_tolerance(case, steps.ravel().tolist()).reshape(shape)
    for values in (schedule(on_device), jax.jit(schedule)(on_device)):
        assert values.shape == shape and values.dtype == jnp.float32
        assert np.all(np.abs(np.asarray(values, dtype=np.float64) - want) <= tolerance)
    if shape and shape[0]:
        assert jax.vmap(schedule)(on_device).shape == shape


# From D on, the value is Lc with a cooldown and E without (the spec), exactly. The lengths are
# ones whose float32 t / t rounds below 1 (XLA divides by a reciprocal): a steep curve at
# x = 0.99999994 instead of 1 would hold a visibly wrong value (0.19 * lr for power 0.1).
@pytest.mark.parametrize(
    "case",
    [
        dict(name="polynomial", lr=1.0, decay_steps=426, warmup_steps=1, end_lr=0.0, power=0.1),
        dict(name="exponential", lr=1.0, decay_steps=41, end_lr=1e-3),
        dict(name="wsd", lr=1.0, decay_steps=500, cooldown_steps=425, cooldown_lr=1e-4),
        dict(name="cosine", lr=1.0, decay_steps=130, cooldown_steps=41, cooldown_shape="sqrt"),
    ],
    ids=["polynomial-power-0.1", "exponential", "wsd", "cosine-sqrt-cooldown"],
)
def test_the_final_value_is_exact_from_the_end_on_every_path(case):
    schedule = build(case)
    D = case["decay_steps"]
    steps = [D, D + 1, 10 * D, INT32_MAX]
    final = case.get("cooldown_lr", 0.0) if case.get("cooldown_steps") else case.get("end_lr", 0.0)
    assert [schedule(s) for s in steps] == [final] * len(steps)
    assert schedule(np.array(steps)).tolist() == [final] * len(steps)
    on_device = jnp.array(steps * 16, dtype=jnp.int32)  # long enough for vectorized code
    for values in (
        schedule(on_device),
        jax.jit(schedule)(on_device),
        jax.vmap(schedule)(on_device),
    ):
        assert np.all(np.asarray(values) == np.float32(final))


# Schedules of more than four pieces, whose array path looks each step's piece up in a table:
# the last piece constant (nothing holds its end value but the lookup), unequal cycles (a step
# compared with the next piece's start), and pieces so unequal that the lookup is a binary
# search.
COMPOSED = {
    "multistep": dict(name="multistep", lr=1.0, decay_steps=120, milestones=[3, 4, 5, 50, 100]),
    "stages-ending-constant": dict(
        name="stages",
        lr=1.0,
        decay_steps=90,
        stages=[
            dict(steps=10, shape="cosine", start=1.0, end=0.5),
            dict(steps=10, shape="linear", start=0.5, end=0.25),
            dict(steps=10, shape="constant", start=0.2, end=0.2),
            dict(steps=10, shape="cosine", start=0.2, end=0.1),
            dict(steps=None, shape="constant", start=0.05, end=0.05),
        ],
    ),
    "unequal-cycles": dict(name="cosine", lr=1.0, decay_steps=300, cycles=5, cycle_mult=1.5),
    "binary-search": dict(
        name="stages",
        lr=1.0,
        decay_steps=10**6 + 9,
        stages=[
            dict(steps=1, shape="constant", start=1.0 / (j + 1), end=1.0 / (j + 1))
            for j in range(9)
        ]
        + [dict(steps=None, shape="constant", start=0.01, end=0.01)],
    ),
}


@pytest.mark.filterwarnings("error::RuntimeWarning")  # NumPy: no NaN, even one discarded
@pytest.mark.parametrize("case", COMPOSED.values(), ids=COMPOSED.keys())
def test_composed_schedules_at_infinite_huge_and_negative_steps(case):
    """An infinite step is past the end, a negative one is step 0, a NaN is NaN: on the host,
    in NumPy (float64 and every integer type), and in JAX, eagerly and under jit, where the
    derivative is finite at every step."""
    schedule = build(case)
    bounds = boundaries_of(case)
    floats = [-math.inf, -1.5, *[b + d for b in bounds for d in (-0.5, 0.0, 0.5)], 1e12, math.inf]
    want = np.array([composed_lr(s, **case) for s in floats])
    np.testing.assert_allclose([schedule(s) for s in floats], want, rtol=1e-12)
    np.testing.assert_allclose(schedule(np.array(floats)), want, rtol=1e-12)
    float32 = {"rtol": 16 * EPS32, "atol": 16 * EPS32}  # lr = 1: a few ulps of the peak
    for values in (schedule(jnp.array(floats)), jax.jit(schedule)(jnp.array(floats))):
        np.testing.assert_allclose(np.asarray(values), want, **float32)
    slopes = jax.jit(jax.vmap(jax.grad(schedule)))(jnp.array(floats))
    assert np.all(np.isfinite(np.asarray(slopes)))
    assert np.isnan(schedule(np.array([math.nan]))).all()
    assert np.isnan(np.asarray(jax.jit(schedule)(jnp.array([math.nan])))).all()
    for dtype in (np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64):
        info = np.iinfo(dtype)
        ints = sorted({min(max(s, int(info.min)), int(info.max)) for s in [-1, *bounds, 2**40]})
        want = np.array([composed_lr(s, **case) for s in ints])
        np.testing.assert_allclose(schedule(np.array(ints, dtype=dtype)), want, rtol=1e-12)
        if info.bits <= 32:  # JAX without x64 has no 64-bit integers
            jitted = jax.jit(schedule)(jnp.array(ints, dtype=dtype))
            np.testing.assert_allclose(np.asarray(jitted), want, **float32)


def boundaries_of(case):
    """Every piece boundary of ``case`` and its neighbours (the spec's, not the package's)."""
    return sorted({b + d for b in composed_boundaries(case) for d in (-1, 0, 1) if b + d >= 0})
