"""Any piecewise schedule: the ``stages`` option, a list of typed stages (steps or fraction or
the rest, a shape, start and end as multiples of ``lr``, a power).

Checked against the float64 reference in ``composed_reference.py`` over whole step ranges,
host, NumPy, eager JAX and jit; from a user's Hydra app (a list override of ``stages``, one
value of one stage, a typo in a stage); through ``load_schedule``; and with hypothesis over
generated stage lists. Invalid configs, with their whole messages: ``test_composed_errors.py``.
"""

from __future__ import annotations

import itertools
import json
import math
import pickle

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hydra_optax_schedules import (
    ScheduleConfigError,
    SchedulerConfig,
    StageConfig,
    load_schedule,
)

from support.composed_checks import assert_boundaries_exact, assert_matches_reference, build
from support.composed_reference import boundaries, composed_lr, named_values

LR = 3e-3
SHAPES = ["constant", "linear", "cosine", "sqrt", "exponential", "polynomial"]
# Stage lists: every shape, jumps (step decay), a rising stage, fractions, the rest.
STAGE_LISTS = [
    [{"steps": 80, "shape": shape, "end": 0.1}]
    if shape != "constant"
    else [{"steps": 80, "shape": "constant"}]
    for shape in SHAPES
] + [
    [
        {"steps": 10, "start": 0.1, "end": 1.0},
        {"steps": 50, "shape": "cosine", "end": 0.05},
        {"shape": "constant"},
    ],
    [
        {"steps": 30, "shape": "constant"},
        {"steps": 30, "shape": "constant", "start": 0.1},
        {"fraction": 0.2, "shape": "constant", "start": 0.01},
    ],
    [
        {"fraction": 0.35, "shape": "polynomial", "end": 0.5, "power": 0.5},
        {"shape": "exponential", "start": 0.4, "end": 0.004},
    ],
    [{"steps": 1, "shape": "sqrt", "end": 0.0}, {"steps": 1, "start": 1.0}, {}],
]
# (decay_steps, warmup_steps, cooldown_steps): the stages must cover D - W - C exactly.
LENGTHS = [(80, 0, 0), (100, 8, 12)]


def fits(stages, D, W, C):
    fixed = [s for s in stages if "steps" in s or "fraction" in s]
    if len(fixed) == len(stages):
        covered = sum(s.get("steps") or round(s["fraction"] * D + 1e-9) for s in stages)
        return covered == D - W - C
    return True


CASES = [
    {
        "name": "stages",
        "lr": LR,
        "decay_steps": D,
        "warmup_steps": W,
        "cooldown_steps": C,
        **({"cooldown_lr": 1e-6} if C else {}),
        "stages": stages,
    }
    for stages, (D, W, C) in itertools.product(STAGE_LISTS, LENGTHS)
    if fits(stages, D, W, C)
] + [
    # D unknown: the main phase is as long as the stages, and their end value holds.
    {
        "name": "stages",
        "lr": LR,
        "stages": [
            {"steps": 7, "shape": "cosine", "end": 0.1},
            {"steps": 5, "start": 0.5, "end": 0.2},
        ],
    },
    {
        "name": "stages",
        "lr": LR,
        "warmup_steps": 3,
        "stages": [{"steps": 20, "shape": "exponential", "end": 0.01}],
    },
]


def case_id(case):
    shapes = "+".join(s.get("shape", "linear") for s in case["stages"])
    return f"{shapes}-D={case.get('decay_steps')}-W={case.get('warmup_steps', 0)}"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_stages_follow_the_spec_over_the_whole_run(case):
    assert_matches_reference(case)
    assert_boundaries_exact(case)


def test_a_start_other_than_the_previous_end_is_a_jump():
    schedule = build(
        {
            "name": "stages",
            "lr": 1.0,
            "stages": [
                {"steps": 10, "shape": "constant"},
                {"steps": 10, "shape": "constant", "start": 0.1},
            ],
        }
    )
    assert schedule(9) == 1.0 and schedule(10) == 0.1


def test_stage_configs_and_stage_nodes_are_stages_too():
    from omegaconf import OmegaConf

    stages = [{"steps": 10, "shape": "cosine", "end": 0.1}, {"steps": 5}]
    want = build({"name": "stages", "lr": 1.0, "stages": stages})
    as_configs = [StageConfig(**s) for s in stages]
    assert build({"name": "stages", "lr": 1.0, "stages": as_configs}) == want
    assert build({"name": "stages", "lr": 1.0, "stages": OmegaConf.create(stages)}) == want
    assert want.config.stages == tuple(as_configs)
    hash(want.config)  # a frozen config of tuples


STAGES_CONFIG = """
defaults:
  - scheduler: stages
  - _self_

trainer:
  max_steps: 100
scheduler:
  lr: 0.001
  decay_steps: ${trainer.max_steps}
  warmup_steps: 10
  stages:
    - {steps: 30, shape: cosine, end: 0.1}
    - {shape: constant}
runtime_steps: null
probe_steps: 120
"""


@pytest.mark.full  # the full lane (CI): a Hydra app in a subprocess
def test_a_users_hydra_app_takes_stages_from_its_config_and_the_command_line(user_app):
    user_app.write("conf/config.yaml", STAGES_CONFIG)
    base = {"name": "stages", "lr": 1e-3, "decay_steps": 100, "warmup_steps": 10}

    def check(stages):
        want = [composed_lr(s, **base, stages=stages) for s in range(120)]
        np.testing.assert_allclose(user_app.result()["values"], want, rtol=1e-12, atol=1e-18)

    user_app.run()
    check([{"steps": 30, "shape": "cosine", "end": 0.1}, {"shape": "constant"}])
    user_app.run("scheduler.stages.0.end=0.2")
    check([{"steps": 30, "shape": "cosine", "end": 0.2}, {"shape": "constant"}])
    user_app.run("scheduler.stages=[{steps:40,shape:linear,end:0.5},{shape:sqrt,end:0}]")
    check([{"steps": 40, "shape": "linear", "end": 0.5}, {"shape": "sqrt", "end": 0}])
    proc = user_app.run("scheduler.stages.0.stpes=3", check=False)
    assert proc.returncode != 0 and "stpes" in proc.stderr
    proc = user_app.run("scheduler.stages=[{steps:40,shape:cosin}]", check=False)
    assert proc.returncode != 0 and "stages[0].shape='cosin' is invalid" in proc.stderr
    proc = user_app.run("scheduler.stages=[{steps:40,typo:1}]", check=False)
    assert proc.returncode != 0 and "typo" in proc.stderr


def test_the_stages_option_needs_its_stages(user_app):
    proc = user_app.run("scheduler=stages", check=False)
    assert proc.returncode != 0 and "stages" in proc.stderr
    user_app.run("scheduler=stages", "scheduler.stages=[{shape:cosine,end:0}]")
    case = {
        "name": "stages",
        "lr": 1e-3,
        "decay_steps": 100,
        "stages": [{"shape": "cosine", "end": 0}],
    }
    want = [composed_lr(s, **case) for s in range(120)]
    np.testing.assert_allclose(user_app.result()["values"], want, rtol=1e-12, atol=1e-18)


def test_pickle_to_dict_from_dict_and_load_schedule():
    stages = [
        {"steps": 30, "shape": "cosine", "end": 0.1},
        {"fraction": 0.5, "shape": "polynomial", "power": 3.0, "end": 0.0},
        {},
    ]
    case = {"name": "stages", "lr": LR, "decay_steps": 100, "warmup_steps": 5, "stages": stages}
    schedule = build(case)
    assert pickle.loads(pickle.dumps(schedule)) == schedule
    data = json.loads(json.dumps(schedule.config.to_dict()))
    assert data["stages"][1] == {
        "steps": None,
        "fraction": 0.5,
        "shape": "polynomial",
        "start": None,
        "end": 0.0,
        "power": 3.0,
        "shape_params": None,
    }
    assert SchedulerConfig.from_dict(SchedulerConfig, data) == schedule.config
    assert SchedulerConfig.from_dict(SchedulerConfig, repr(schedule.config)) == schedule.config
    assert load_schedule(data) == schedule
    text = """
    scheduler:
      _target_: hydra_optax_schedules.build_schedule
      name: stages
      lr: 3e-3
      decay_steps: 100
      warmup_steps: 5
      stages:
        - {steps: 30, shape: cosine, end: 0.1}
        - {fraction: 0.5, shape: polynomial, power: 3.0, end: 0.0}
        - {}
    """
    assert load_schedule(text.replace("\n    ", "\n"), key="scheduler") == schedule
    with pytest.raises(
        ScheduleConfigError, match=r"stages\[0\]._target_ is not a stage field"
    ) as error:
        load_schedule({**case, "stages": [{"_target_": "os.system", "steps": 95}]})
    assert error.value.field == "stages[0]._target_"
    with pytest.raises(ScheduleConfigError, match=r"stages\[0\].steps is refused") as error:
        load_schedule({**case, "stages": [{"steps": {"_target_": "os.system"}}]})
    with pytest.raises(ScheduleConfigError, match=r"stages\[1\].typo is not a stage field"):
        SchedulerConfig.from_dict(SchedulerConfig, {**case, "stages": [{}, {"typo": 1}]})


def test_the_compiled_program_does_not_grow_with_the_stages():
    """A table lookup of each step's stage and one evaluation per shape, not one branch per
    stage: 100 or 1000 stages compile to the program of 5, and at most twice the program of
    3 (a schedule of up to 4 phases evaluates each and selects, which is smaller still)."""

    def instructions(count):
        stages = [
            {
                "steps": 100,
                "shape": ("cosine", "linear", "constant")[j % 3],
                "start": 1.0 / (j + 1),
                "end": 0.5 / (j + 1),
            }
            for j in range(count)
        ]
        for stage in stages[2::3]:
            stage["end"] = stage["start"]
        schedule = build({"name": "stages", "lr": 1.0, "stages": stages})
        text = jax.jit(schedule).lower(jnp.arange(1000)).compile().as_text()
        return sum(
            line.lstrip().removeprefix("ROOT ").startswith("%") for line in text.splitlines()
        )

    five = instructions(5)
    assert instructions(100) <= five + 4
    assert instructions(1000) <= five + 4
    assert five <= 2 * instructions(3)


@st.composite
def stage_configs(draw):
    count = draw(st.integers(1, 6))
    stages = []
    for _ in range(count):
        shape = draw(st.sampled_from(SHAPES))
        stage = {"steps": draw(st.integers(1, 40)), "shape": shape}
        positive = shape == "exponential"
        values = st.sampled_from([0.01, 0.1, 0.5, 1.0, 2.0] + ([] if positive else [0.0]))
        if draw(st.booleans()) or (positive and not stages):
            stage["start"] = draw(values)
        if shape != "constant":
            stage["end"] = draw(values)
        if shape == "polynomial":
            stage["power"] = draw(st.sampled_from([0.5, 1.0, 2.0, 3.0]))
        stages.append(stage)
    # An exponential stage whose default start (the previous end) is 0 is invalid: start it.
    previous = 1.0
    for stage in stages:
        if stage["shape"] == "exponential" and stage.get("start", previous) == 0:
            stage["start"] = 0.5
        previous = stage.get("end", stage.get("start", previous))
    W = draw(st.integers(0, 5))
    C = draw(st.integers(0, 5))
    case = {"name": "stages", "lr": draw(st.floats(1e-5, 1.0)), "warmup_steps": W, "stages": stages}
    if C or draw(st.booleans()):
        case |= {"decay_steps": W + sum(s["steps"] for s in stages) + C, "cooldown_steps": C}
    return case


@given(stage_configs(), st.integers(-3, 300))
def test_generated_stages_are_finite_bounded_exact_and_continuous_where_they_meet(case, step):
    schedule = build(case)
    named = named_values(case)
    atol = 1e-14 * max(named)
    value = schedule(step)
    assert math.isfinite(value) and min(named) * (1 - 1e-12) - atol <= value
    assert value <= max(named) * (1 + 1e-12)
    assert math.isclose(value, composed_lr(step, **case), rel_tol=1e-12, abs_tol=atol)
    assert [p.start for p in schedule.phases if p.start in boundaries(case)] == boundaries(case)
    # Continuous where a stage starts from the previous one's end (no jump given).
    W = case["warmup_steps"]
    begin, previous = W, None
    for stage in case["stages"]:
        if previous is not None and stage.get("start") is None and begin >= 1:
            at = schedule(begin)
            assert math.isclose(at, previous * case["lr"], rel_tol=1e-12, abs_tol=atol)
        start = stage.get("start", 1.0 if previous is None else previous)
        previous = stage.get("end", start)
        begin += stage["steps"]


def test_derivatives_are_finite_at_every_step_and_boundary():
    """The 1-sqrt and power < 1 curves have infinite slopes at their ends; the schedule's
    derivative (``jax.grad`` over float steps) stays finite everywhere, under jit too."""
    stages = [
        {"steps": 10, "shape": "sqrt", "end": 0.5},
        {"steps": 10, "shape": "polynomial", "power": 0.5, "end": 0.1},
        {"steps": 10, "shape": "exponential", "end": 0.01},
        {"steps": 10, "shape": "cosine", "start": 0.5, "end": 0.0},
    ]
    schedule = build(
        {
            "name": "stages",
            "lr": 1.0,
            "warmup_steps": 3,
            "stages": stages,
            "decay_steps": 48,
            "cooldown_steps": 5,
        }
    )
    steps = jnp.arange(-2.0, 52.0, 0.5)
    slopes = jax.jit(jax.vmap(jax.grad(schedule)))(steps)
    assert np.all(np.isfinite(np.asarray(slopes)))


def test_very_unequal_stages_are_found_by_binary_search_with_the_same_values():
    """Twelve 1-step stages, one of ten million steps, and one more: the table's buckets are
    153 steps wide, and the first would hold 13 starts, more than a binary search over 14
    stages has levels, so each step's stage is found by a binary search, with the same
    values. (Without the last stage the table has 1-step buckets.)"""
    stages = [{"steps": 1, "start": 1.0 / (j + 1), "end": 1.0 / (j + 2)} for j in range(12)]
    stages.append({"steps": 10**7, "shape": "cosine", "end": 0.0})
    stages.append({"steps": 5, "start": 0.25, "end": 0.5})
    case = {"name": "stages", "lr": 1.0, "stages": stages}
    steps = [-2, *range(0, 30), 10**6, *range(10**7 + 10, 10**7 + 20), 2**31 - 1]
    assert_matches_reference(case, steps)
    as_floats = np.array(steps, dtype=np.float64) + 0.5
    want = [composed_lr(s, **case) for s in as_floats]
    np.testing.assert_allclose(build(case)(as_floats), want, rtol=1e-12, atol=1e-14)


def test_float_steps_take_the_value_between_integer_steps():
    case = {
        "name": "stages",
        "lr": 1.0,
        "stages": [
            {"steps": 10, "shape": "cosine", "end": 0.1},
            {"steps": 7, "shape": "sqrt", "end": 0.0},
            {"steps": 5, "start": 0.5, "shape": "exponential", "end": 0.05},
            {"steps": 3},
            {"steps": 4, "shape": "polynomial", "power": 3.0, "end": 0.0},
        ],
    }
    steps = np.arange(-2.0, 35.0, 0.25)
    want = [composed_lr(s, **case) for s in steps]
    schedule = build(case)
    np.testing.assert_allclose(schedule(steps), want, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose([schedule(float(s)) for s in steps], want, rtol=1e-12, atol=1e-14)
    jitted = jax.jit(schedule)(jnp.asarray(steps, dtype=jnp.float32))
    np.testing.assert_allclose(jitted, want, rtol=1e-5, atol=1e-6)
    assert np.isnan(schedule(np.array([np.nan]))[0])


def test_the_typed_option_builds_and_names_a_stage_by_its_full_key():
    from omegaconf import OmegaConf

    from hydra_optax_schedules import build_lr_scheduler
    from hydra_optax_schedules.hydra_options import option_node

    stages = [{"steps": 10, "shape": "cosine", "end": 0.1}, {"steps": 5}]
    node = OmegaConf.merge(option_node("stages"), {"lr": 1.0, "stages": stages})
    option = OmegaConf.to_object(node)
    assert pickle.loads(pickle.dumps(option)) == option
    assert build_lr_scheduler(option) == build({"name": "stages", "lr": 1.0, "stages": stages})
    config = OmegaConf.create({"scheduler": node})
    config.scheduler.stages[0].shape = "cosin"
    with pytest.raises(ScheduleConfigError, match=r"^scheduler\.stages\[0\]\.shape='cosin'"):
        build_lr_scheduler(config.scheduler)
