"""Derivatives with respect to a float step are finite everywhere, and 0 where the curve is flat.

``sqrt`` (the 1-sqrt cooldown) and ``(1 - x) ** power`` with ``power < 1`` have infinite
slopes at 0; before their phase begins, or after it ends, the step is clamped and its slope
is 0, and ``inf * 0`` would be NaN. ``jax.grad`` must give a number, eagerly and under ``jit``.
"""

from __future__ import annotations

import hypothesis.strategies as st
import jax
import numpy as np
import pytest
from hypothesis import given, settings

from hydra_optax_schedules import SchedulerConfig, build_lr_scheduler

from support.generators import configs
from support.tolerance import lengths

FLAT_BEFORE_SQRT = SchedulerConfig(
    lr=1.0, name="wsd", decay_steps=100, cooldown_steps=20, cooldown_shape="sqrt"
)
POWER_BELOW_ONE = SchedulerConfig(lr=1.0, name="polynomial", decay_steps=100, power=0.5)


@pytest.mark.parametrize(
    ("config", "step", "slope"),
    [
        (FLAT_BEFORE_SQRT, 50.0, 0.0),  # stable phase, before a 1-sqrt cooldown
        (FLAT_BEFORE_SQRT, 80.0, None),  # the cooldown's first step: the one-sided slope
        (FLAT_BEFORE_SQRT, 150.0, 0.0),  # after the end
        (POWER_BELOW_ONE, 100.0, None),  # the end of the decay
        (POWER_BELOW_ONE, 150.0, 0.0),  # past it
        (POWER_BELOW_ONE, -5.0, 0.0),  # before step 0
    ],
)
def test_examples_have_finite_slopes_and_zero_on_flat_parts(config, step, slope):
    schedule = build_lr_scheduler(config)
    for grad in (jax.grad(schedule), jax.jit(jax.grad(schedule))):
        value = float(grad(step))
        assert np.isfinite(value)
        if slope is not None:
            assert value == slope


@pytest.mark.full  # the full lane (CI): 100 gradient programs, 15 s; the examples above stay
@settings(max_examples=100)  # each example compiles its own gradient
@given(configs(), st.lists(st.floats(-10.0, 2e9), min_size=1, max_size=8))
def test_the_slope_is_finite_at_every_step_of_every_config(case, steps):
    schedule = build_lr_scheduler(SchedulerConfig(**case))
    D, W, C = lengths(case)
    boundaries = [0.0, float(W), float(W + 1)]
    if D is not None:
        boundaries += [float(D - C), float(D), float(D + 1)]
    grads = jax.vmap(jax.grad(schedule))(np.array(steps + boundaries, dtype=np.float32))
    assert np.all(np.isfinite(np.asarray(grads)))
