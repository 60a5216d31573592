"""Checks shared by the composable-schedules tests: every evaluation path against the spec.

JAX is imported only by the checks that evaluate under it, so that the JAX-free tests
(``test_composed_host.py``, run by ``.ci/mutation``) can share the rest.
"""

from __future__ import annotations

import math

import numpy as np

from hydra_optax_schedules import SchedulerConfig, build_lr_scheduler

from .composed_reference import boundaries, composed_lr

FLOAT32_EPS = float(np.finfo(np.float32).eps)


def build(case):
    return build_lr_scheduler(SchedulerConfig(**case))


def steps_around(case, far=True):
    """Every step of the run, the steps before 0 and past the end, and far past it.

    The steps past the end go on until there are a power of two of steps in all: eager JAX
    compiles each operation once per array length, so the cases share a few compiles.
    """
    bounds = boundaries(case)
    end = max([case.get("decay_steps") or 0, *bounds]) + (case.get("cooldown_steps") or 0)
    before, far_past = [-3, -1], ([10 * end + 7, 10**6, 2**31 - 1] if far else [])
    total = 1 << (len(before) + end + 4 + len(far_past) - 1).bit_length()
    return [*before, *range(0, total - len(before) - len(far_past)), *far_past]


def expected(case, steps):
    return np.array([composed_lr(s, **case) for s in steps], dtype=np.float64)


def assert_matches_reference(case, steps=None, schedule=None):
    """Host (Python ints), NumPy, eager JAX and jit give the spec's value at every step."""
    import jax
    import jax.numpy as jnp

    schedule = schedule or build(case)
    steps = steps if steps is not None else steps_around(case)
    want = expected(case, steps)
    peak = float(np.max(np.abs(want)))
    host = np.array([schedule(s) for s in steps])
    np.testing.assert_allclose(host, want, rtol=1e-12, atol=1e-14 * peak)
    np.testing.assert_allclose(schedule(np.array(steps)), want, rtol=1e-12, atol=1e-14 * peak)
    # float32: a few ulps of the largest value; local steps below 2**24 are exact in float32.
    tolerance = {"rtol": 16 * FLOAT32_EPS, "atol": 16 * FLOAT32_EPS * peak}
    as_int32 = jnp.array(steps, dtype=jnp.int32)
    np.testing.assert_allclose(np.asarray(schedule(as_int32)), want, **tolerance)
    np.testing.assert_allclose(np.asarray(jax.jit(schedule)(as_int32)), want, **tolerance)


def assert_boundaries_exact(case, schedule=None):
    """The schedule's phases start exactly at the spec's boundary steps, and the value at each
    boundary step is the new piece's own (a restart, a jump) to float64 rounding."""
    schedule = schedule or build(case)
    starts = {phase.start for phase in schedule.phases}
    for step in boundaries(case):
        assert step in starts, (step, sorted(starts))
        want = composed_lr(step, **case)
        assert math.isclose(schedule(step), want, rel_tol=1e-12, abs_tol=1e-300), step
