"""WSD with restarts (WSD-S): ``cycles`` on the ``wsd`` family, against the spec written out
independently (``support.composed_reference``), at every step of generated runs, on the host
and over NumPy arrays (both JAX-free).

Cycle ``i`` covers ``[b_i, b_(i+1))`` of the whole run, ``b_i = floor(D * S_i / S_n + 1/2)``;
it rises (the warmup, or a rewarmup from ``cooldown_lr``), holds its peak ``lr *
cycle_decay ** i`` and decays to ``cooldown_lr`` over its last ``C_i`` steps.
"""

from __future__ import annotations

import warnings

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given

from hydra_optax_schedules import (
    IgnoredFieldWarning,
    ScheduleConfigError,
    SchedulerConfig,
    build_lr_scheduler,
)

from support.composed_reference import composed_lr, rewarmup_length, wsd_restarts_parts
from support.reference import resolve_lengths


@st.composite
def wsd_restarts(draw):
    """A wsd config with 2 to 6 cycles over a short run, every restart field drawn."""
    D = draw(st.integers(4, 240))
    case = {"name": "wsd", "lr": draw(st.sampled_from([1.0, 3e-4])), "decay_steps": D}
    case["cycles"] = draw(st.integers(2, 6))
    case["cycle_mult"] = draw(st.sampled_from([1.0, 1.0, 2.0, 0.5, 1.25]))
    case["cycle_decay"] = draw(st.sampled_from([1.0, 0.5, 0.9]))
    case["warmup_steps"] = draw(st.sampled_from([0, 0, 1, 3, 10]))
    cooldown = draw(st.sampled_from(["default", "steps", "fraction"]))
    if cooldown == "steps":
        case["cooldown_steps"] = draw(st.integers(1, 12))
    elif cooldown == "fraction":
        case["cooldown_fraction"] = draw(st.sampled_from([0.1, 0.25, 0.5, 0.35, 1.0]))
    rewarmup = draw(st.sampled_from(["jump", "steps", "fraction"]))
    if rewarmup == "steps":
        case["rewarmup_steps"] = draw(st.integers(1, 6))
    elif rewarmup == "fraction":
        case["rewarmup_fraction"] = draw(st.sampled_from([0.1, 0.25, 0.05]))
    case["cooldown_lr"] = draw(st.sampled_from([0.0, 0.1])) * case["lr"]
    case["cooldown_shape"] = draw(st.sampled_from(["sqrt", "linear", "cosine"]))
    if case["warmup_steps"] or rewarmup != "jump":  # else it has no effect, and warns
        case["warmup_shape"] = draw(st.sampled_from(["linear", "cosine"]))
    return case


def fits(case):
    """Whether every cycle has room for its rise and a decay of at least one step (the
    spec's condition), from the reference's own reading of the lengths."""
    D = case["decay_steps"]
    W, _ = resolve_lengths(D, case.get("warmup_steps", 0), 0, None, None)

    def rewarmup(i, L):
        return rewarmup_length(i, L, case.get("rewarmup_steps", 0), case.get("rewarmup_fraction"))

    parts = wsd_restarts_parts(
        D,
        W,
        case["cycles"],
        case["cycle_mult"],
        case.get("cooldown_steps", 0),
        case.get("cooldown_fraction"),
        rewarmup,
    )
    return parts is not None


@given(wsd_restarts())
def test_wsd_restarts_match_the_spec_at_every_step(case):
    try:
        with warnings.catch_warnings():
            # Which fields warn (a rewarmup of 0 steps, a warmup shape without a rise) is
            # tests/core/test_ignored_by_plan.py's question; here, the values.
            warnings.simplefilter("ignore", IgnoredFieldWarning)
            schedule = build_lr_scheduler(SchedulerConfig(**case))
    except ScheduleConfigError as error:
        assert not fits(case), error  # refused only when a cycle has no room
        assert error.field in ("cycles", "cooldown_fraction", "cooldown_steps", "decay_steps")
        return
    assert fits(case)
    steps = list(range(-2, case["decay_steps"] + 3))
    want = [composed_lr(s, **case) for s in steps]
    got = [schedule(s) for s in steps]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15 * case["lr"])
    over_array = schedule(np.array(steps, dtype=np.int64))
    np.testing.assert_allclose(over_array, want, rtol=1e-12, atol=1e-15 * case["lr"])


def test_each_cycle_holds_its_peak_then_decays_and_jumps_back():
    # 3 cycles of 100 steps, each decaying linearly over its last 20 (0.2 of the cycle).
    config = SchedulerConfig(
        name="wsd", lr=1.0, decay_steps=300, cycles=3, cooldown_shape="linear", cycle_decay=0.5
    )
    schedule = build_lr_scheduler(config)
    values = [schedule(s) for s in (0, 79, 80, 90, 99, 100, 280, 290, 300, 10**6)]
    assert values == pytest.approx([1.0, 1.0, 1.0, 0.5, 0.05, 0.5, 0.25, 0.125, 0.0, 0.0])
    assert [p.name for p in schedule.pieces] == [
        "cycle 0",
        "cooldown 0",
        "cycle 1",
        "cooldown 1",
        "cycle 2",
        "cooldown 2",
    ]


def test_one_cycle_is_the_wsd_schedule():
    plain = dict(name="wsd", lr=1.0, decay_steps=97, warmup_steps=7, cooldown_fraction=0.3)
    one = build_lr_scheduler(SchedulerConfig(**plain, cycles=1))
    assert one.pieces == build_lr_scheduler(SchedulerConfig(**plain)).pieces
    assert [one(s) for s in range(100)] == [composed_lr(s, **plain) for s in range(100)]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            dict(cycles=4, cooldown_steps=30),
            "cooldown_steps",
            "cooldown_steps=30 is invalid with cycles=4: each cycle of a wsd schedule ends with "
            "a decay of that many steps, and cycle 0 is 25 steps long",
        ),
        (
            dict(cycles=2, warmup_steps=45),
            "cycles",
            "cycles=2 is invalid with this wsd schedule: cycle 0 is 50 steps long, less than "
            "warmup_steps=45 and its decay of 10 steps; use fewer cycles, or a shorter warmup, "
            "rewarmup or cooldown",
        ),
        (
            dict(cycles=50, cooldown_fraction=0.1),
            "cooldown_fraction",
            "cycles=50 is invalid with this wsd schedule: cycle 0 is 2 steps long, and "
            "cooldown_fraction=0.1 rounds its decay to 0 steps; use fewer cycles, or set "
            "cooldown_steps",
        ),
        (
            dict(cycles=2, cooldown_start=30, cooldown_steps=5),
            "cooldown_start",
            "cooldown_start=30 is invalid: a wsd schedule with cycles=2 decays at the end of "
            "each cycle, and a branched cooldown would cut them off; set only one of them",
        ),
    ],
)
def test_a_cycle_without_room_is_refused_naming_the_field(fields, field, message):
    with pytest.raises(ScheduleConfigError) as caught:
        build_lr_scheduler(SchedulerConfig(name="wsd", lr=1.0, decay_steps=100, **fields))
    assert (str(caught.value), caught.value.field) == (message, field)


def test_restart_fields_on_one_wsd_cycle_warn_as_on_any_family():
    with pytest.warns(IgnoredFieldWarning, match=r"cycle_decay=0\.5 has no effect"):
        build_lr_scheduler(SchedulerConfig(name="wsd", lr=1.0, decay_steps=10, cycle_decay=0.5))
    # 2 cycles of 5 steps, each decaying in its last step (0.2 of 5): peaks at 4 and 9.
    schedule = build_lr_scheduler(SchedulerConfig(name="wsd", lr=1.0, decay_steps=10, cycles=2))
    assert [schedule(s) for s in (3, 4, 5, 9, 10)] == [1.0, 1.0, 1.0, 1.0, 0.0]
