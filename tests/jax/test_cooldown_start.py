"""A branched cooldown: ``cooldown_start`` moves the cooldown to any step, for every family.

Checked against the float64 reference in ``composed_reference.py`` over whole step ranges
(host, NumPy, eager JAX, jit), from a user's Hydra app, through ``load_schedule``, and with
hypothesis over generated configs. Every invalid combination, and its whole message, is in
``test_composed_errors.py``.
"""

from __future__ import annotations

import json
import math
import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hydra_optax_schedules import (
    IgnoredFieldWarning,
    SchedulerConfig,
    load_schedule,
)

from support.composed_checks import assert_boundaries_exact, assert_matches_reference, build
from support.composed_reference import composed_lr, named_values
from support.lanes import one_per_kind

LR = 3e-3

# (family's fields, D, W): every family, with a warmup of 0, 1 or more steps.
FAMILIES = [
    ({"name": "constant"}, 60, 0),
    ({"name": "linear", "end_lr_factor": 0.1}, 60, 5),
    ({"name": "cosine", "end_lr": 1e-4}, 60, 1),
    ({"name": "cosine_decay"}, 60, 5),
    ({"name": "exponential", "end_lr_factor": 0.01}, 60, 5),
    ({"name": "polynomial", "end_lr_factor": 0.1, "power": 0.5}, 60, 5),
    ({"name": "inverse_sqrt", "timescale": 20.0}, 60, 5),
    ({"name": "wsd"}, 60, 5),
    ({"name": "cosine", "cycles": 3, "rewarmup_steps": 4, "end_lr_factor": 0.1}, 60, 5),
    ({"name": "multistep", "milestones": [20, 40], "decay_factor": 0.5}, 60, 5),
    ({"name": "stages", "stages": [{"steps": 25, "shape": "cosine", "end": 0.2}, {}]}, 60, 5),
]
# Branch points: at the warmup's end, one step later, mid-run, the last main step, the end of
# the run, and past it (the main phase then holds its final value until the branch).
BRANCHES = [0, 1, 23, 59, 60, 75]
COOLDOWNS = [{"cooldown_steps": 1}, {"cooldown_steps": 10, "cooldown_lr": 1e-5}]
SHAPES = ["linear", "cosine", "sqrt"]


CASES = [
    {**family, "lr": LR, "decay_steps": D, "warmup_steps": W, "cooldown_start": S, **cooldown}
    for family, D, W in FAMILIES
    for S in sorted({max(W, b) for b in BRANCHES})
    for cooldown in COOLDOWNS
]


def case_id(case):
    return "-".join(f"{k}={v}" for k, v in case.items() if k not in ("lr", "stages"))


FAMILY_KEYS = {key for family, _, _ in FAMILIES for key in family}


def branch_kind(case):
    """The family and where the branch is: at the warmup's end (no main phase), in the main
    phase, at its end, or past it (the main phase's final value held until the branch)."""
    W, S, D = case["warmup_steps"], case["cooldown_start"], case["decay_steps"]
    where = "warmup end" if S == W else "main" if S < D else "end" if S == D else "past"
    return json.dumps({k: v for k, v in case.items() if k in FAMILY_KEYS}), where


# A jit compile per case: the default lane runs one branch of each kind for every family (the
# other cooldown, the other branches of the same kind: the full lane).
@pytest.mark.parametrize("case", one_per_kind(CASES, branch_kind, case_id))
def test_every_family_branches_off_any_step_as_the_spec_says(case):
    assert_matches_reference(case)
    assert_boundaries_exact(case)


@pytest.mark.parametrize("shape", SHAPES)
def test_the_cooldown_shape_applies_to_a_branched_cooldown(shape):
    case = {
        "name": "cosine",
        "lr": LR,
        "decay_steps": 100,
        "warmup_steps": 10,
        "cooldown_start": 40,
        "cooldown_steps": 20,
        "cooldown_shape": shape,
        "cooldown_lr": 1e-4,
    }
    assert_matches_reference(case)


def test_the_main_phase_keeps_its_shape_up_to_the_branch():
    """Before the branch, the schedule is the one with no cooldown at all (the run followed
    so far is unchanged): cool down a 100k-step cosine run from its 40k checkpoint."""
    run = {"name": "cosine", "lr": LR, "decay_steps": 100_000, "warmup_steps": 1000}
    followed = build(run)
    branched = build({**run, "cooldown_start": 40_000, "cooldown_steps": 4000})
    steps = np.arange(0, 40_001, 97)
    np.testing.assert_array_equal(branched(steps), followed(steps))
    assert branched(40_000) == followed(40_000)
    assert branched(44_000) == 0.0 and branched(10**9) == 0.0
    halfway = composed_lr(42_000, **run, cooldown_start=40_000, cooldown_steps=4000)
    assert math.isclose(branched(42_000), halfway, rel_tol=1e-12)
    assert math.isclose(halfway, followed(40_000) / 2, rel_tol=1e-12)


def test_decay_steps_is_needed_only_by_families_that_need_it_anyway():
    schedule = build({"name": "constant", "lr": LR, "cooldown_start": 30, "cooldown_steps": 10})
    assert [schedule(s) for s in (0, 29, 30, 35, 40, 10**6)] == [LR, LR, LR, LR / 2, 0.0, 0.0]
    # A cosine schedule needs it anyway: test_composed_errors.py (BRANCHES).


def test_a_cooldown_fraction_is_a_fraction_of_the_run():
    case = {
        "name": "linear",
        "lr": LR,
        "decay_steps": 100,
        "cooldown_start": 30,
        "cooldown_fraction": 0.25,
    }
    assert_matches_reference(case)
    assert build(case).phases[-1].length == 25


def test_numpy_and_jax_scalars_are_steps():
    import jax.numpy as jnp

    case = {"name": "cosine", "lr": LR, "decay_steps": 60, "cooldown_steps": 5}
    want = build({**case, "cooldown_start": 30})
    for value in (np.int64(30), np.int32(30), jnp.int32(30)):
        assert build({**case, "cooldown_start": value}) == want


def test_pickle_to_dict_and_load_schedule_round_trip():
    case = {
        "name": "cosine",
        "lr": LR,
        "decay_steps": 60,
        "cooldown_start": 30,
        "cooldown_steps": 5,
    }
    schedule = build(case)
    assert pickle.loads(pickle.dumps(schedule)) == schedule
    data = json.loads(json.dumps(schedule.config.to_dict()))
    assert SchedulerConfig.from_dict(SchedulerConfig, data) == schedule.config
    loaded = load_schedule(
        "scheduler:\n  _target_: hydra_optax_schedules.build_schedule\n  name: cosine\n"
        "  lr: 3e-3\n  decay_steps: 60\n  cooldown_start: 30\n  cooldown_steps: 5\n",
        key="scheduler",
    )
    assert loaded == schedule


def test_a_users_hydra_app_branches_from_the_command_line(user_app):
    user_app.run(
        "scheduler.warmup_steps=10",
        "scheduler.cooldown_start=40",
        "scheduler.cooldown_steps=20",
        "probe_steps=120",
    )
    case = {
        "name": "cosine",
        "lr": 1e-3,
        "decay_steps": 100,
        "warmup_steps": 10,
        "cooldown_start": 40,
        "cooldown_steps": 20,
    }
    want = [composed_lr(s, **case) for s in range(120)]
    np.testing.assert_allclose(user_app.result()["values"], want, rtol=1e-12, atol=1e-18)


@st.composite
def branched_configs(draw):
    family = draw(st.sampled_from(FAMILIES))[0]
    D = draw(st.integers(1, 300))
    W = draw(st.integers(0, D - 1))
    case = {
        **family,
        "lr": draw(st.floats(1e-6, 10.0)),
        "decay_steps": D,
        "warmup_steps": W,
        "warmup_start_lr": draw(st.sampled_from([0.0, 1e-7])),
        "cooldown_start": W + draw(st.integers(0, D + 20)),
        "cooldown_steps": draw(st.integers(1, 2 * D)),
        "cooldown_shape": draw(st.sampled_from(SHAPES)),
        "cooldown_lr": draw(st.sampled_from([0.0, 1e-7])),
    }
    if case["name"] == "multistep":
        case["milestones"] = (
            sorted(draw(st.sets(st.integers(W + 1, D - 1), min_size=1))) if (D - W >= 2) else None
        )
        if case["milestones"] is None:
            case = {**case, "name": "constant"}
            del case["milestones"], case["decay_factor"]
    if case["name"] == "stages":
        case["stages"] = [{"shape": "cosine", "end": 0.2}]  # the rest: all of [W, D)
    if case["name"] == "cosine" and "cycles" in case:
        case["cycles"] = min(case["cycles"], D - W)
        case["rewarmup_steps"] = 0
    return case


@given(branched_configs(), st.integers(-5, 1000))
def test_generated_branches_are_finite_bounded_and_continuous_at_the_branch(case, step):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IgnoredFieldWarning)  # tested in test_errors.py
        schedule = build(case)
    value = schedule(step)
    assert math.isfinite(value) and value >= 0
    atol = 1e-14 * max(named_values(case))
    assert math.isclose(value, composed_lr(step, **case), rel_tol=1e-12, abs_tol=atol)
    named = named_values(case)
    assert min(named) * (1 - 1e-12) <= value <= max(named) * (1 + 1e-12)
    # Continuous at the branch: the cooldown starts from the value the run had there, and
    # before it the run is the one that branches later.
    start = case["cooldown_start"]
    later = {**case, "cooldown_start": start + 10**6}
    for at in (start - 1, start):
        if at >= 0:
            want = composed_lr(at, **later)
            assert math.isclose(schedule(at), want, rel_tol=1e-12, abs_tol=atol)
