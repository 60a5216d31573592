"""Restarts: ``cycles``, ``cycle_mult``, ``cycle_decay`` and ``rewarmup_steps`` /
``rewarmup_fraction`` for the decaying families (SGDR, timm's cycles, Levanter's rewarmup).

Checked against the float64 reference in ``composed_reference.py`` (cycle boundaries in
exact rationals) over whole step ranges, host, NumPy, eager JAX and jit; against optax's
``sgdr_schedule`` where the definitions coincide; from a user's Hydra app; through
``load_schedule``; and with hypothesis over generated configs. Invalid configs, with their
whole messages: ``test_composed_errors.py``.
"""

from __future__ import annotations

import itertools
import json
import math
import pickle
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hydra_optax_schedules import (
    IgnoredFieldWarning,
    SchedulerConfig,
    load_schedule,
)
from hydra_optax_schedules.shapes import HOST

from support.composed_checks import assert_boundaries_exact, assert_matches_reference, build
from support.composed_reference import (
    boundaries,
    composed_lr,
    cycle_starts,
    named_values,
    rewarmup_length,
)
from support.lanes import every_pair

LR = 3e-3
FAMILIES = [
    {"name": "linear", "end_lr_factor": 0.1},
    {"name": "cosine"},
    {"name": "cosine_decay", "end_lr": 1e-4},
    {"name": "exponential", "end_lr_factor": 0.01},
    {"name": "polynomial", "end_lr_factor": 0.1, "power": 0.5},
]
# (cycles, cycle_mult, cycle_decay, rewarmup): SGDR's hard restarts, T_mult of 2 and of a
# decimal that a float does not hold, a shrinking cycle, decaying peaks, Levanter's rewarmup.
CYCLES = [
    (2, 1.0, 1.0, {}),
    (3, 2.0, 1.0, {}),
    (4, 1.1, 0.5, {}),
    (3, 0.7, 1.0, {"rewarmup_steps": 1}),
    (5, 1.0, 0.8, {"rewarmup_steps": 3}),
    (3, 1.5, 0.9, {"rewarmup_fraction": 0.35}),
]
# (decay_steps, warmup_steps, cooldown_steps)
LENGTHS = [(97, 0, 0), (120, 7, 10), (40, 1, 1)]


CASES = [
    {
        **family,
        "lr": LR,
        "decay_steps": D,
        "warmup_steps": W,
        "cooldown_steps": C,
        "cooldown_lr": 1e-5 if C else 0.0,
        "cycles": n,
        "cycle_mult": m,
        "cycle_decay": decay,
        **rewarmup,
    }
    for family, (n, m, decay, rewarmup), (D, W, C) in itertools.product(FAMILIES, CYCLES, LENGTHS)
]


def case_id(case):
    return "-".join(f"{k}={v}" for k, v in case.items() if k != "lr")


# A jit compile per case: the default lane runs 30 of the 90, which hold every family with
# every cycle pattern and with every lengths, and every cycle pattern with every lengths; the
# full lane every case.
SAMPLED_CASES = every_pair(
    CASES,
    [
        lambda case: case["name"],
        lambda case: tuple(case.get(key) for key in ("cycles", "cycle_mult", "cycle_decay")),
        lambda case: (case.get("rewarmup_steps"), case.get("rewarmup_fraction")),
        lambda case: (case["decay_steps"], case["warmup_steps"], case["cooldown_steps"]),
    ],
    case_id,
)


@pytest.mark.parametrize("case", SAMPLED_CASES)
def test_cycles_follow_the_spec_over_the_whole_run(case):
    assert_matches_reference(case)
    assert_boundaries_exact(case)


@pytest.mark.parametrize("warmup_shape", ["linear", "cosine"])
def test_rewarmups_take_the_warmup_shape(warmup_shape):
    case = {
        "name": "cosine",
        "lr": LR,
        "decay_steps": 200,
        "warmup_steps": 10,
        "warmup_shape": warmup_shape,
        "cycles": 3,
        "rewarmup_steps": 20,
        "end_lr": 1e-4,
    }
    assert_matches_reference(case)


def test_boundaries_are_exact_rationals_rounded_half_up():
    """M = 10 over 4 equal cycles: 2.5, 5, 7.5 round (half up) to 3, 5, 8; T_mult = 1.1 is
    11/10 exactly, not the float nearest it."""
    assert cycle_starts(4, 1.0, 10) == [0, 3, 5, 8, 10]
    schedule = build({"name": "linear", "lr": 1.0, "decay_steps": 10, "cycles": 4})
    assert [p.start for p in schedule.phases] == [0, 3, 5, 8]
    assert [p.length for p in schedule.phases] == [3, 2, 3, 2]
    case = {"name": "cosine", "lr": 1.0, "decay_steps": 1000, "cycles": 5, "cycle_mult": 1.1}
    assert [p.start for p in build(case).phases] == boundaries(case)


def test_sgdr_hard_restarts_equal_optax_within_float32():
    """Hard restarts of equal cycles are optax's ``sgdr_schedule`` with equal pieces."""
    cycles, length, lr = 10, 100, 1e-3
    ours = build({"name": "cosine", "lr": lr, "decay_steps": cycles * length, "cycles": cycles})
    theirs = optax.sgdr_schedule(
        [
            {
                "init_value": lr,
                "peak_value": lr,
                "decay_steps": length,
                "warmup_steps": 0,
                "end_value": 0.0,
            }
        ]
        * cycles
    )
    steps = jnp.arange(cycles * length)
    np.testing.assert_allclose(
        jax.jit(ours)(steps), jax.jit(theirs)(steps), rtol=1e-5, atol=1e-6 * lr
    )


def test_every_cycle_ends_at_the_end_value_and_the_cooldown_starts_there():
    schedule = build(
        {
            "name": "cosine",
            "lr": 1.0,
            "decay_steps": 110,
            "cooldown_steps": 10,
            "cycles": 4,
            "end_lr": 0.1,
            "cycle_decay": 0.5,
        }
    )
    cycles = [p for p in schedule.phases if p.name.startswith("cycle")]
    assert [p.name for p in cycles] == ["cycle 0", "cycle 1", "cycle 2", "cycle 3"]
    assert [p.start_value for p in cycles] == [1.0, 0.5, 0.25, 0.125]
    assert all(p.end_value == 0.1 for p in cycles)
    assert schedule.phases[-1].name == "cooldown" and schedule.phases[-1].start_value == 0.1


def test_hydra_options_have_the_cycle_fields_only_for_decaying_families(user_app):
    user_app.run(
        "scheduler.cycles=4",
        "scheduler.cycle_mult=2",
        "scheduler.rewarmup_fraction=0.1",
        "scheduler.end_lr_factor=0.1",
        "trainer.max_steps=150",
        "probe_steps=160",
    )
    case = {
        "name": "cosine",
        "lr": 1e-3,
        "decay_steps": 150,
        "cycles": 4,
        "cycle_mult": 2.0,
        "rewarmup_fraction": 0.1,
        "end_lr_factor": 0.1,
    }
    want = [composed_lr(s, **case) for s in range(160)]
    np.testing.assert_allclose(user_app.result()["values"], want, rtol=1e-12, atol=1e-18)
    proc = user_app.run("scheduler=constant", "scheduler.cycles=2", check=False)
    assert proc.returncode != 0 and "cycles" in proc.stderr


def test_numpy_scalars_pickle_to_dict_and_load_schedule():
    case = {
        "name": "cosine",
        "lr": LR,
        "decay_steps": 100,
        "cycles": 3,
        "cycle_mult": 2.0,
        "cycle_decay": 0.5,
        "rewarmup_steps": 2,
    }
    schedule = build(case)
    numpy_case = {
        **case,
        "cycles": np.int64(3),
        "cycle_mult": np.float32(2.0),
        "cycle_decay": np.float32(0.5),
        "rewarmup_steps": np.int32(2),
    }
    assert build(numpy_case) == schedule
    assert pickle.loads(pickle.dumps(schedule)) == schedule
    data = json.loads(json.dumps(schedule.config.to_dict()))
    assert SchedulerConfig.from_dict(SchedulerConfig, data) == schedule.config
    assert load_schedule(data) == schedule
    yaml_text = "\n".join(f"{k}: {v}" for k, v in case.items())
    assert load_schedule(yaml_text) == schedule


def hlo_instructions(schedule):
    """Instructions of the optimized program of ``schedule`` under jit (``%name = ...``)."""
    text = jax.jit(schedule).lower(jnp.arange(1000)).compile().as_text()
    return sum(line.lstrip().removeprefix("ROOT ").startswith("%") for line in text.splitlines())


def test_the_compiled_program_does_not_grow_with_the_cycles():
    """A table lookup of each step's phase and one evaluation per curve, not one branch per
    cycle: 100 or 1000 cycles compile to the same program, a fixed number of instructions
    more than one cycle's (whose three phases are evaluated each and selected)."""

    def instructions(cycles, **fields):
        return hlo_instructions(
            build(
                {
                    "name": "cosine",
                    "lr": 1.0,
                    "decay_steps": 10**6,
                    "warmup_steps": 1000,
                    "cooldown_steps": 1000,
                    "cycles": cycles,
                    **fields,
                }
            )
        )

    hundred = instructions(100)
    assert instructions(1000) <= hundred + 4
    assert instructions(1000, cycle_mult=1.002) <= hundred + 4
    assert instructions(1000, rewarmup_steps=10) <= instructions(100, rewarmup_steps=10) + 4
    assert hundred <= 1.5 * instructions(1) + 32


@st.composite
def cycle_configs(draw):
    family = draw(st.sampled_from(FAMILIES))
    n = draw(st.integers(1, 8))
    m = draw(st.sampled_from([1.0, 0.5, 0.9, 1.1, 1.5, 2.0]))
    M = draw(st.integers(n, 400))
    W = draw(st.integers(0, 5))
    C = draw(st.integers(0, 5))
    case = {
        **family,
        "lr": draw(st.floats(1e-5, 1.0)),
        "decay_steps": W + M + C,
        "warmup_steps": W,
        "cooldown_steps": C,
        "cycles": n,
        "cycle_mult": m,
        "cycle_decay": draw(st.sampled_from([1.0, 0.7, 1.2])),
        "warmup_shape": draw(st.sampled_from(["linear", "cosine"])),
    }
    if draw(st.booleans()):
        case["rewarmup_fraction"] = draw(st.sampled_from([0.1, 0.25, 0.5]))
    else:
        case["rewarmup_steps"] = draw(st.integers(0, 3))
    starts = cycle_starts(n, m, M)
    lengths = [b - a for a, b in itertools.pairwise(starts)]
    if min(lengths) < 1:
        case["cycles"] = 1  # the config would be invalid (tested above)
    elif any(
        T - rewarmup_length(i, T, case.get("rewarmup_steps", 0), case.get("rewarmup_fraction")) < 1
        for i, T in enumerate(lengths)
    ):
        case["rewarmup_steps"], case["rewarmup_fraction"] = 0, None
    return case


@given(cycle_configs(), st.integers(-3, 450))
def test_generated_cycles_are_finite_bounded_exact_and_continuous(case, step):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IgnoredFieldWarning)  # cycles = 1 with a cycle field
        schedule = build(case)
    named = named_values(case)
    atol = 1e-14 * max(named)
    value = schedule(step)
    assert math.isfinite(value) and min(named) * (1 - 1e-12) <= value <= max(named) * (1 + 1e-12)
    assert math.isclose(value, composed_lr(step, **case), rel_tol=1e-12, abs_tol=atol)
    assert [p.start for p in schedule.phases if p.start in boundaries(case)] == boundaries(case)
    # Continuous where a rewarmup joins a cycle: the rewarmup ends at the peak the cycle starts
    # from; a cycle with no rewarmup restarts at its peak at once.
    for before, after in itertools.pairwise(schedule.phases):
        if before.name.startswith("rewarmup"):
            assert math.isclose(before.value(HOST, before.length), after.start_value, abs_tol=atol)
        if after.name.startswith("cycle") and after.name != "cycle 0":
            assert schedule(after.start) == pytest.approx(after.start_value, rel=1e-12)


def test_derivatives_are_finite_at_every_step_and_restart():
    schedule = build(
        {
            "name": "polynomial",
            "lr": 1.0,
            "power": 0.5,
            "decay_steps": 60,
            "cycles": 4,
            "rewarmup_steps": 3,
            "warmup_steps": 2,
            "cooldown_steps": 4,
            "cooldown_shape": "sqrt",
        }
    )
    steps = jnp.arange(-2.0, 64.0, 0.5)
    slopes = jax.jit(jax.vmap(jax.grad(schedule)))(steps)
    assert np.all(np.isfinite(np.asarray(slopes)))
