"""Generated valid configs: host, NumPy and jitted values against the exact reference.

CI (the "ci" hypothesis profile) checks 2,000 configs in about two minutes;
``pytest tests/jax/test_differential.py -s --hypothesis-profile=thorough`` checks 10,000.

Each config's boundaries come from exact rational arithmetic (``reference.resolve_lengths``)
and its values from the float64 formulas of the spec (``reference.reference_lr``), neither of
which calls into the package. Configs are jitted 50 at a time, in one program per batch, so
10,000 of them compile in two hundred programs. The largest deviation of each path, in units
of its tolerance, is printed (``pytest -s``) for the record.
"""

from __future__ import annotations

import warnings

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from support.generators import build, configs, reference
from support.tolerance import float32_tolerance, host_tolerance, lengths

BATCH = 50
# 40 batches (2,000 configs) with the "ci" profile, 200 (10,000) with "thorough".
BATCHES = min(200, max(1, settings.default.max_examples // 12))
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
WORST: dict[str, float] = {"host": 0.0, "numpy": 0.0, "jit": 0.0}


def deviation(values, want, allowed):
    """The largest ``|value - want| / allowed``; <= 1 passes."""
    return float(np.max(np.abs(np.asarray(values, dtype=np.float64) - want) / allowed))


def probe_steps(case, rng):
    """Every boundary and its neighbours, the extremes of int32 (negative steps count as 0),
    steps anywhere in the run, and anywhere in int32."""
    D, W, C = lengths(case)
    end = D if D is not None else 2 * W + 100
    corners = [-1, 0, 1, W - 1, W, W + 1, end - C - 1, end - C, end - C + 1, end, end + 1]
    anywhere = rng.integers(0, min(2 * end + 2, INT32_MAX), size=13).tolist()
    far = rng.integers(INT32_MIN, INT32_MAX, size=3, endpoint=True).tolist()
    steps = corners + anywhere + far + [INT32_MIN, INT32_MAX]
    return [min(max(s, INT32_MIN), INT32_MAX) for s in steps]


@pytest.mark.full  # the full lane (CI): the differential search (test_semantics stays)
@settings(max_examples=BATCHES, suppress_health_check=list(HealthCheck))
@given(st.lists(configs(), min_size=BATCH, max_size=BATCH), st.integers(0, 2**32 - 1))
def test_host_numpy_and_jit_equal_the_exact_reference(cases, seed):
    rng = np.random.default_rng(seed)
    batch = [(case, probe_steps(case, rng)) for case in cases]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        schedules = [build(case) for case, _ in batch]
    wants, device_tolerances = [], []
    for (case, steps), schedule in zip(batch, schedules, strict=True):
        want = reference(case, steps)
        host = host_tolerance(case, steps)
        allowed = host["atol"] + host["rtol"] * np.abs(want)
        for path, values in {
            "host": [schedule(s) for s in steps],
            "numpy": schedule(np.array(steps, dtype=np.int64)),
        }.items():
            worst = deviation(values, want, allowed)
            WORST[path] = max(WORST[path], worst)
            assert worst <= 1.0, (path, case)
        wants.append(want)
        device_tolerances.append(float32_tolerance(case, steps))

    steps = jnp.asarray(np.array([steps for _, steps in batch], dtype=np.int32))
    jitted = jax.jit(lambda s: jnp.stack([f(s[i]) for i, f in enumerate(schedules)]))(steps)
    for i, (case, _) in enumerate(batch):
        worst = deviation(jitted[i], wants[i], device_tolerances[i])
        WORST["jit"] = max(WORST["jit"], worst)
        assert worst <= 1.0, ("jit", case)


def test_report_the_largest_deviations():
    """Runs after the differential test (file order): its record, for ``pytest -s``."""
    print("largest deviation / tolerance:", {k: f"{v:.3g}" for k, v in WORST.items()})
