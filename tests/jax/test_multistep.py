"""Step decay: the ``multistep`` option, ``milestones`` or ``milestone_fractions`` and
``decay_factor`` (torch's MultiStepLR, timm's multistep, optax's piecewise_constant_schedule).

Checked against the float64 reference in ``composed_reference.py`` over whole step ranges,
host, NumPy, eager JAX and jit; against optax; from a user's Hydra app (a list override of
``milestones``); through ``load_schedule``; and with hypothesis over generated configs.
Invalid configs, with their whole messages: ``test_composed_errors.py``.
"""

from __future__ import annotations

import itertools
import json
import math
import pickle

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hydra_optax_schedules import (
    ScheduleConfigError,
    SchedulerConfig,
    load_schedule,
)

from support.composed_checks import assert_boundaries_exact, assert_matches_reference, build
from support.composed_reference import boundaries, composed_lr, named_values

LR = 3e-3
MILESTONES = [
    {"milestones": [30]},
    {"milestones": [6, 7, 50, 88]},
    {"milestone_fractions": [0.35, 0.5, 0.75]},  # 0.35 * 100 is 35 exactly, not 34.99...
    {"milestone_fractions": [0.125, 0.875]},
]
FACTORS = [{}, {"decay_factor": 0.5}, {"decay_factor": 2.0}]
# (decay_steps, warmup_steps, cooldown_steps)
LENGTHS = [(100, 0, 0), (100, 5, 10), (100, 1, 1)]

CASES = [
    {
        "name": "multistep",
        "lr": LR,
        "decay_steps": D,
        "warmup_steps": W,
        "cooldown_steps": C,
        **({"cooldown_lr": 1e-6} if C else {}),
        **milestones,
        **factor,
    }
    for milestones, factor, (D, W, C) in itertools.product(MILESTONES, FACTORS, LENGTHS)
]


def case_id(case):
    return "-".join(f"{k}={v}" for k, v in case.items() if k not in ("lr", "name"))


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_multistep_follows_the_spec_over_the_whole_run(case):
    assert_matches_reference(case)
    assert_boundaries_exact(case)


def test_equals_optax_piecewise_constant_schedule():
    boundaries_ = [100, 250, 600]
    ours = build({"name": "multistep", "lr": 0.1, "milestones": boundaries_, "decay_factor": 0.5})
    theirs = optax.piecewise_constant_schedule(0.1, {b: 0.5 for b in boundaries_})
    steps = jnp.arange(1000)
    np.testing.assert_allclose(jax.jit(ours)(steps), jax.jit(theirs)(steps), rtol=1e-6)


@pytest.mark.full  # the full lane (CI): a Hydra app in a subprocess
def test_a_users_hydra_app_overrides_the_milestones_list(user_app):
    user_app.run(
        "scheduler=multistep",
        "scheduler.milestones=[30,60,90]",
        "scheduler.decay_factor=0.5",
        "scheduler.warmup_steps=5",
    )
    case = {
        "name": "multistep",
        "lr": 1e-3,
        "decay_steps": 100,
        "warmup_steps": 5,
        "milestones": [30, 60, 90],
        "decay_factor": 0.5,
    }
    want = [composed_lr(s, **case) for s in range(120)]
    np.testing.assert_allclose(user_app.result()["values"], want, rtol=1e-12, atol=1e-18)
    user_app.run("scheduler=multistep", "scheduler.milestone_fractions=[0.25,0.5]")
    case = {"name": "multistep", "lr": 1e-3, "decay_steps": 100, "milestone_fractions": [0.25, 0.5]}
    want = [composed_lr(s, **case) for s in range(120)]
    np.testing.assert_allclose(user_app.result()["values"], want, rtol=1e-12, atol=1e-18)
    proc = user_app.run("scheduler=multistep", "scheduler.milestones=[30,20]", check=False)
    assert proc.returncode != 0 and "milestones[1]=20 is invalid" in proc.stderr
    # Every option has every field: milestones on cosine compose, and warn that they do nothing.
    user_app.run("scheduler.milestones=[30]")
    warned = user_app.result()["warnings"]
    assert any("milestones=(30,) has no effect" in w for w in warned), warned


def test_numpy_values_pickle_to_dict_and_load_schedule():
    case = {
        "name": "multistep",
        "lr": LR,
        "decay_steps": 100,
        "milestones": [30, 60],
        "decay_factor": 0.5,
    }
    schedule = build(case)
    assert schedule.config.milestones == (30, 60)
    assert build({**case, "milestones": np.array([30, 60])}) == schedule
    assert build({**case, "milestones": (np.int32(30), 60), "decay_factor": np.float32(0.5)}) == (
        schedule
    )
    assert pickle.loads(pickle.dumps(schedule)) == schedule
    data = json.loads(json.dumps(schedule.config.to_dict()))
    assert data["milestones"] == [30, 60]
    assert SchedulerConfig.from_dict(SchedulerConfig, data) == schedule.config
    assert load_schedule(data) == schedule
    text = """
    trainer: {steps: 100, first: 30}
    scheduler:
      _target_: hydra_optax_schedules.build_schedule
      name: multistep
      lr: 3e-3
      decay_steps: ${trainer.steps}
      milestones: ["${trainer.first}", 60]
      decay_factor: 0.5
    """
    assert load_schedule(text.replace("\n    ", "\n"), key="scheduler") == schedule
    with pytest.raises(ScheduleConfigError, match=r"milestones\[0\] is refused") as error:
        load_schedule({**case, "milestones": [{"_target_": "os.system"}]})
    assert error.value.field == "milestones[0]"


@st.composite
def multistep_configs(draw):
    D = draw(st.integers(3, 400))
    W = draw(st.integers(0, D // 3))
    C = draw(st.integers(0, D // 3))
    inside = st.integers(W + 1, D - C - 1)
    milestones = (
        sorted(draw(st.sets(inside, min_size=1, max_size=8))) if D - C - W >= 2 else [W + 1]
    )
    case = {
        "name": "multistep",
        "lr": draw(st.floats(1e-5, 1.0)),
        "decay_steps": D if D - C - W >= 2 else W + C + 2,
        "warmup_steps": W,
        "cooldown_steps": C,
        "milestones": milestones,
        "decay_factor": draw(st.sampled_from([0.1, 0.5, 0.9, 1.5])),
    }
    return case


@given(multistep_configs(), st.integers(-3, 450))
def test_generated_multistep_configs_are_finite_bounded_and_jump_only_at_milestones(case, step):
    schedule = build(case)
    named = named_values(case)
    value = schedule(step)
    assert math.isfinite(value) and min(named) * (1 - 1e-12) <= value <= max(named) * (1 + 1e-12)
    atol = 1e-14 * max(named)
    assert math.isclose(value, composed_lr(step, **case), rel_tol=1e-12, abs_tol=atol)
    assert [p.start for p in schedule.phases if p.start in boundaries(case)] == boundaries(case)
    # Constant between milestones: the value changes only at a milestone.
    W, first = case["warmup_steps"], case["milestones"][0]
    if W <= step < first:
        assert value == case["lr"]
