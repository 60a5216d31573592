"""Every family against the spec's float64 formulas, over whole step ranges.

Host (Python int), NumPy, eager JAX, jit and vmap, and a real optax update loop.
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from hydra_optax_schedules import SchedulerConfig, build_lr_scheduler

from support.lanes import every_pair
from support.reference import reference_lr

NAMES = ["constant", "linear", "cosine", "cosine_decay", "exponential", "exponential_decay"]

# (decay_steps, warmup_steps, cooldown_steps): no phases, W or C of 1, a main phase of 1,
# W + C + M all small, a longer run.
LENGTHS = [
    (10, 0, 0),
    (10, 1, 0),
    (10, 0, 1),
    (10, 1, 1),
    (3, 1, 1),
    (12, 3, 8),
    (37, 5, 11),
    (200, 20, 50),
]
ENDS = [
    {},
    {"end_lr": 1e-4},
    {"end_lr_factor": 0.1},
    {"end_lr": 3e-4, "end_lr_factor": 0.1},  # agree within rel_tol only
    {"end_lr_factor": 2.0},  # ends above the peak
]
COOLDOWN_LRS = [0.0, 2e-5]
LR = 3e-3


def cases():
    for name, (D, W, C), end, Lc in itertools.product(NAMES, LENGTHS, ENDS, COOLDOWN_LRS):
        if name.startswith("exponential") and not end:
            continue  # E = 0: an error (see test_errors.py)
        yield dict(
            name=name, lr=LR, decay_steps=D, warmup_steps=W, cooldown_steps=C, cooldown_lr=Lc, **end
        )


CASES = list(cases())


def case_id(case):
    return "-".join(f"{k}={v}" for k, v in case.items() if k != "lr")


def steps_for(D):
    """Every step from before the start to past the end, and far past it."""
    return [-5, -1, *range(0, D + 3), D * 10, 10**6, 2**31 - 1]


def float32_tolerance(case):
    """A few float32 ulps of the largest LR in the schedule: ``a + (b - a) * x`` cancels."""
    peak = max(
        case["lr"], case.get("end_lr") or 0.0, (case.get("end_lr_factor") or 0.0) * case["lr"]
    )
    return {"rtol": 2e-6, "atol": 4e-7 * peak}


def expected(case, steps):
    return np.array([reference_lr(s, **case) for s in steps], dtype=np.float64)


# A jit compile per case: the default lane runs the few cases that hold every pair of name,
# lengths, end and cooldown_lr (49 of 448); the full lane every case.
SAMPLED_CASES = every_pair(
    CASES,
    [
        lambda case: case["name"],
        lambda case: (case["decay_steps"], case["warmup_steps"], case["cooldown_steps"]),
        lambda case: (case.get("end_lr"), case.get("end_lr_factor")),
        lambda case: case["cooldown_lr"],
    ],
    case_id,
)


@pytest.mark.parametrize("case", SAMPLED_CASES)
def test_host_numpy_and_jit_match_the_reference(case):
    schedule = build_lr_scheduler(SchedulerConfig(**case))
    steps = steps_for(case["decay_steps"])
    want = expected(case, steps)

    host = np.array([schedule(s) for s in steps])
    assert all(type(schedule(s)) is float for s in steps[:3])
    np.testing.assert_allclose(host, want, rtol=1e-12, atol=1e-15)

    vectorized = schedule(np.array(steps, dtype=np.int64))
    assert vectorized.dtype == np.float64
    np.testing.assert_allclose(vectorized, want, rtol=1e-12, atol=1e-15)

    jitted = np.asarray(jax.jit(schedule)(jnp.array(steps, dtype=jnp.int32)))
    assert jitted.dtype == np.float32
    np.testing.assert_allclose(jitted, want, **float32_tolerance(case))


@pytest.mark.parametrize("name", NAMES)
def test_eager_vmap_and_float_steps(name):
    case = dict(
        name=name,
        lr=1.0,
        decay_steps=50,
        warmup_steps=5,
        cooldown_steps=10,
        end_lr_factor=0.05,
        cooldown_lr=0.01,
    )
    schedule = build_lr_scheduler(SchedulerConfig(**case))
    steps = list(range(-2, 60))
    want = expected(case, steps)
    eager = np.asarray(schedule(jnp.array(steps)))
    mapped = np.asarray(jax.vmap(schedule)(jnp.array(steps)))
    scalars = np.array([float(schedule(jnp.int32(s))) for s in steps])
    for values in (eager, mapped, scalars):
        np.testing.assert_allclose(values, want, **float32_tolerance(case))
    # Fractional steps follow the same formulas (a warmup at 2.5 of 5 steps is half-way).
    assert schedule(2.5) == pytest.approx(reference_lr(2.5, **case), rel=1e-12)
    assert float(schedule(jnp.float32(2.5))) == pytest.approx(0.5, rel=1e-6)
    assert schedule(np.int64(7)) == pytest.approx(reference_lr(7, **case), rel=1e-12)


def test_boundaries_belong_to_the_phase_that_starts_there():
    case = dict(
        name="linear",
        lr=1.0,
        decay_steps=20,
        warmup_steps=4,
        cooldown_steps=6,
        end_lr=0.5,
        cooldown_lr=0.1,
    )
    schedule = build_lr_scheduler(SchedulerConfig(**case))
    assert schedule(3) == pytest.approx(0.75)  # warmup: lr * 3 / 4
    assert schedule(4) == 1.0  # s = W: the main phase starts at lr
    assert schedule(14) == pytest.approx(0.5)  # s = D - C: the cooldown starts at E
    assert schedule(20) == pytest.approx(0.1)  # s = D: cooldown_lr
    assert schedule(10**9) == pytest.approx(0.1)


def test_without_cooldown_the_main_value_holds_past_the_end():
    exponential = build_lr_scheduler(
        SchedulerConfig(lr=1.0, name="exponential", decay_steps=10, end_lr=0.01)
    )
    assert exponential(10) == pytest.approx(0.01)
    assert exponential(11) == pytest.approx(0.01)  # xlstm-jax keeps decaying here
    assert exponential(10**6) == pytest.approx(0.01)
    constant = build_lr_scheduler(
        SchedulerConfig(lr=0.5, name="constant", decay_steps=None, warmup_steps=4)
    )
    assert [constant(s) for s in (0, 2, 4, 10**9)] == [0.0, 0.25, 0.5, 0.5]


@pytest.mark.parametrize("name", ["constant", "linear", "cosine", "exponential"])
def test_real_optax_update_loop_applies_the_reference_lr(name):
    """SGD with gradient 1: each update is exactly -lr(step) for steps 0, 1, 2, ..."""
    case = dict(
        name=name,
        lr=0.1,
        decay_steps=30,
        warmup_steps=3,
        cooldown_steps=7,
        end_lr_factor=0.2,
        cooldown_lr=0.001,
    )
    schedule = build_lr_scheduler(SchedulerConfig(**case))
    for optimizer in (
        optax.sgd(schedule),
        optax.inject_hyperparams(optax.sgd)(learning_rate=schedule),
    ):
        params = jnp.zeros(())
        state = optimizer.init(params)
        update_fn = jax.jit(optimizer.update)
        for step in range(35):
            updates, state = update_fn(jnp.ones(()), state, params)
            tolerance = float32_tolerance(case)
            assert float(updates) == pytest.approx(
                -reference_lr(step, **case), rel=tolerance["rtol"], abs=tolerance["atol"]
            )


def test_adamw_accepts_the_schedule():
    schedule = build_lr_scheduler(SchedulerConfig(lr=1e-2, name="cosine", decay_steps=20))
    optimizer = optax.adamw(learning_rate=schedule)
    params = {"w": jnp.ones(3)}
    state = optimizer.init(params)
    updates, _ = jax.jit(optimizer.update)({"w": jnp.ones(3)}, state, params)
    assert np.all(np.isfinite(np.asarray(updates["w"])))
