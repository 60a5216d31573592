"""float32 at the edges: every accepted value gives finite values and finite slopes under
``jit`` (float32, JAX's default), at every step: 0, the boundaries, huge and infinite steps;
a NaN step gives NaN. A value float32 cannot hold is refused when the schedule is built.

Values are drawn over the whole accepted range of each field (``F32_TINY`` to ``MAX_LR`` for
rates, ``power`` and ``timescale``; run lengths up to ``2**63 - 1``), not a typical one.
"""

from __future__ import annotations

import math
import warnings

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import assume, given, settings

from hydra_optax_schedules import ScheduleConfigError, SchedulerConfig, build_lr_scheduler

F32_TINY = 2.0**-126  # the smallest normal float32
F32_MAX = float(np.finfo(np.float32).max)
MAX_STEPS = 2**63 - 1

RATES = st.floats(F32_TINY, F32_MAX)
SCALES = st.one_of(st.sampled_from([F32_TINY, F32_MAX, 1.0]), st.floats(F32_TINY, F32_MAX))
LENGTHS = st.one_of(st.integers(1, 10), st.integers(1, MAX_STEPS))


@st.composite
def edge_configs(draw):
    """A config of any family with every value drawn from its whole accepted range."""
    name = draw(
        st.sampled_from(
            ["constant", "linear", "cosine", "exponential", "polynomial", "inverse_sqrt", "wsd"]
        )
    )
    lr = draw(RATES)
    case = {"name": name, "lr": lr}
    open_ended = name in ("constant", "inverse_sqrt") and draw(st.booleans())
    D = None if open_ended else draw(LENGTHS)
    case["decay_steps"] = D
    if name == "polynomial":
        case["power"] = draw(SCALES)
    if name == "inverse_sqrt":
        case["timescale"] = draw(SCALES)
    if name in ("linear", "cosine", "exponential", "polynomial"):
        # An end value float32 holds, and for exponential a ratio end / lr it holds.
        low = max(F32_TINY, lr * F32_TINY) if name == "exponential" else 0.0
        end = draw(st.floats(low, min(F32_MAX, lr * F32_MAX)))
        case["end_lr"] = end if end == 0 or end >= F32_TINY else 0.0
        if D is not None and D >= 2 and draw(st.booleans()):
            case["cycles"] = draw(st.integers(2, min(D, 5)))
    if name == "wsd" and D is not None and D >= 10 and draw(st.booleans()):
        case["cycles"] = draw(st.integers(2, min(D // 5, 5)))
    if D is not None and D >= 4 and draw(st.booleans()):
        case["warmup_steps"] = draw(st.integers(1, D // 4))
        case["warmup_start_lr"] = draw(st.sampled_from([0.0, F32_TINY, lr]))
    if D is not None and D >= 4 and name != "wsd" and draw(st.booleans()):
        case["cooldown_steps"] = draw(st.integers(1, D // 4))
        case["cooldown_shape"] = draw(st.sampled_from(["linear", "cosine", "sqrt"]))
    return case


def probe_steps(case):
    """Step 0, each boundary and the steps either side, huge and infinite steps."""
    D = case["decay_steps"] or 0
    W, C = case.get("warmup_steps", 0), case.get("cooldown_steps", 0)
    steps = {0.0, 1.0, 1e6, 1e30, F32_MAX, math.inf, -math.inf, -1.0}
    for boundary in (W, D - C, D):
        steps |= {float(boundary - 1), float(boundary), float(boundary + 1)}
    return np.array(sorted(steps), dtype=np.float32)


@settings(max_examples=25, deadline=None)  # each compiles two programs
@given(edge_configs())
def test_values_and_slopes_are_finite_under_jit_over_every_accepted_range(case):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            schedule = build_lr_scheduler(SchedulerConfig(**case))
    except ScheduleConfigError:
        assume(False)  # refused when built: what this property allows
    steps = probe_steps(case)
    values = jax.jit(jax.vmap(schedule))(steps)
    assert values.dtype == jnp.float32
    assert np.all(np.isfinite(np.asarray(values))), (steps, values)
    slopes = np.asarray(jax.jit(jax.vmap(jax.grad(schedule)))(steps))
    assert np.all(np.isfinite(slopes)), (steps, slopes)
    assert np.isnan(jax.jit(schedule)(jnp.float32(math.nan)))
    for step in (0, 10**400, -(10**400), math.inf, -math.inf):  # the host: Python numbers
        assert math.isfinite(schedule(step))


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "inverse_sqrt", "timescale": 1e39}, "timescale"),
        ({"name": "inverse_sqrt", "timescale": 2.0**126 * 1.0000001}, "timescale"),
        ({"name": "inverse_sqrt", "timescale": 3e38}, "timescale"),
        ({"name": "inverse_sqrt", "timescale": 1e-46}, "timescale"),
        ({"name": "polynomial", "decay_steps": 10, "power": 1e300}, "power"),
        ({"name": "polynomial", "decay_steps": 10, "power": 1e-40}, "power"),
        ({"name": "cosine", "decay_steps": 10, "end_lr": 1e-40}, "end_lr"),
        ({"name": "constant", "cooldown_lr": 1e-45}, "cooldown_lr"),
        ({"name": "exponential", "decay_steps": 10, "lr": 1e30, "end_lr": 1e-10}, "end_lr"),
    ],
)
def test_a_value_float32_cannot_hold_is_refused_naming_its_field(fields, field):
    with pytest.raises(ScheduleConfigError, match="float32 holds") as caught:
        build_lr_scheduler(SchedulerConfig(**{"lr": 1.0, **fields}))
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "cosine", "lr": 3e38, "decay_steps": 1}, "lr"),
        ({"name": "polynomial", "decay_steps": 10, "lr": 100.0, "power": 1e38}, "power"),
        ({"name": "inverse_sqrt", "lr": 10.0, "timescale": 1.2e-38}, "timescale"),
        ({"name": "exponential", "lr": 4e36, "decay_steps": 1, "end_lr": 1.0}, "lr"),
    ],
)
def test_a_slope_float32_cannot_hold_is_refused_naming_a_field(fields, field):
    with pytest.raises(ScheduleConfigError, match="its steepest slope") as caught:
        build_lr_scheduler(SchedulerConfig(**{"lr": 1.0, **fields}))
    assert caught.value.field == field


@pytest.mark.parametrize("timescale", [F32_TINY, 1e-30, 1.0, 1e37, 2.0**126])
def test_inverse_sqrt_is_its_formula_under_jit_at_every_accepted_timescale(timescale):
    # A timescale past 2**126 gave 1 at every step and NaN at +inf under jit (XLA multiplied
    # by 1 / timescale, a float32 subnormal that the CPU flushes to 0): it is refused now.
    config = SchedulerConfig(lr=1.0, name="inverse_sqrt", timescale=timescale)
    schedule = build_lr_scheduler(config)
    steps = jnp.asarray([0.0, 1.0, 3.0, 1e10, 1e30, 1e37, 3.4e38, math.inf], jnp.float32)
    got = np.asarray(jax.jit(schedule)(steps), np.float64)
    # The spec's form, in float64 from the float32 inputs: sqrt(timescale / (timescale + t)).
    scale = float(np.float32(timescale))
    for t, value in zip(np.asarray(steps, np.float64), got, strict=True):
        want = math.sqrt(scale / (scale + t))
        if t / scale <= F32_MAX:
            assert value == pytest.approx(want, rel=2e-6, abs=2 * F32_TINY), (t, value, want)
        else:  # t / timescale is past float32: the value is 0, the exact one below 5.5e-20
            assert value == 0.0 and want < 5.5e-20, (t, want)
    assert np.all(np.isfinite(np.asarray(jax.jit(jax.vmap(jax.grad(schedule)))(steps))))


def test_inverse_sqrt_without_a_run_length_has_a_zero_slope_at_infinity():
    schedule = build_lr_scheduler(SchedulerConfig(lr=1.0, name="inverse_sqrt"))
    for grad in (jax.grad(schedule), jax.jit(jax.grad(schedule))):
        assert float(grad(jnp.float32(math.inf))) == 0.0
    assert schedule(10**400) == 0.0 and schedule(-(10**400)) == 1.0
