"""Phase boundaries given as fractions of the run, against exact rational arithmetic.

The warmup ends at the step nearest ``warmup_fraction * D`` and the cooldown starts at the
step nearest ``(1 - cooldown_fraction) * D``, halves rounding up, computed from the decimal
the user wrote (``0.35`` is 35/100, not the float nearest it). So fractions that sum to at
most 1 always fit. The reference here is ``fractions.Fraction``, never a float product.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import pytest

from hydra_optax_schedules import ScheduleConfigError, SchedulerConfig, build_lr_scheduler

# A fraction that rounds to a phase of 0 steps has no effect, and says so (test_ignored_fields.py).
pytestmark = pytest.mark.filterwarnings("ignore::hydra_optax_schedules.IgnoredFieldWarning")

DECIMALS = (
    "0.0",
    "0.05",
    "0.1",
    "0.15",
    "0.2",
    "0.25",
    "0.3",
    "0.35",
    "0.45",
    "0.5",
    "0.65",
    "0.7",
    "0.9",
    "0.95",
    "1.0",
)


def nearest(position: Fraction) -> int:
    return math.floor(position + Fraction(1, 2))


def phases(**fields):
    """``{name: (start, length)}`` of a schedule's phases."""
    schedule = build_lr_scheduler(SchedulerConfig(lr=1.0, name="constant", **fields))
    return {phase.name: (phase.start, phase.length) for phase in schedule.phases}


@pytest.mark.parametrize("D", [1, 2, 3, 7, 10, 20, 33, 90, 12345])
def test_warmup_ends_at_the_nearest_step_to_the_exact_fraction(D):
    for text in DECIMALS:
        W = nearest(Fraction(text) * D)
        got = phases(decay_steps=D, warmup_fraction=float(text))
        assert got.get("warmup", (0, 0)) == ((0, W) if W else (0, 0)), text
        assert got.get("main", (W, D - W)) == (W, D - W), text


@pytest.mark.parametrize("D", [1, 2, 3, 7, 10, 20, 33, 90, 12345])
def test_cooldown_starts_at_the_nearest_step_to_the_exact_complement(D):
    for text in DECIMALS:
        start = nearest((1 - Fraction(text)) * D)
        got = phases(decay_steps=D, cooldown_fraction=float(text))
        if start < D:
            assert got["cooldown"] == (start, D - start), text
        else:
            assert "cooldown" not in got, text
        if start > 0:
            assert got["main"] == (0, start), text


@pytest.mark.parametrize("D", [1, 3, 10, 90, 12345])
def test_fractions_that_sum_to_at_most_one_always_fit(D):
    for warmup, cooldown in itertools.product(DECIMALS, DECIMALS):
        if Fraction(warmup) + Fraction(cooldown) > 1:
            continue
        W = nearest(Fraction(warmup) * D)
        C = D - nearest((1 - Fraction(cooldown)) * D)
        got = phases(
            decay_steps=D, warmup_fraction=float(warmup), cooldown_fraction=float(cooldown)
        )
        lengths = {name: length for name, (_, length) in got.items()}
        assert (lengths.get("warmup", 0), lengths.get("cooldown", 0)) == (W, C)
        assert sum(lengths.values()) == D


def test_halves_round_up_from_the_written_decimal():
    # 0.35 * 90 = 31.5 exactly (the float 0.35 is a little less); 0.25 * 10 = 2.5
    assert phases(decay_steps=90, warmup_fraction=0.35)["warmup"] == (0, 32)
    assert phases(decay_steps=10, warmup_fraction=0.25)["warmup"] == (0, 3)
    assert phases(decay_steps=10, cooldown_fraction=0.25)["cooldown"] == (8, 2)  # 7.5 -> 8
    assert phases(decay_steps=12345, warmup_fraction=0.1, cooldown_fraction=0.9) == {
        "warmup": (0, 1235),
        "cooldown": (1235, 11110),
    }


def test_fractions_that_sum_past_one_are_refused():
    with pytest.raises(ScheduleConfigError) as error:
        phases(decay_steps=100, warmup_fraction=0.3, cooldown_fraction=0.7000001)
    assert str(error.value) == (
        "warmup_fraction=0.3 + cooldown_fraction=0.7000001 > 1 is invalid: warmup and cooldown "
        "must fit in the run"
    )
    assert error.value.field == "cooldown_fraction"


@pytest.mark.parametrize("kind", ["warmup", "cooldown"])
def test_steps_and_a_fraction_for_the_same_phase_are_refused(kind):
    with pytest.raises(ScheduleConfigError) as error:
        phases(decay_steps=100, **{f"{kind}_steps": 5, f"{kind}_fraction": 0.0})
    assert str(error.value) == (
        f"{kind}_steps=5 and {kind}_fraction=0.0 are both set: set only one of them"
    )
    assert error.value.field == f"{kind}_fraction"


@pytest.mark.parametrize("kind", ["warmup", "cooldown"])
def test_a_fraction_needs_the_run_length(kind):
    with pytest.raises(ScheduleConfigError) as error:
        phases(decay_steps=None, **{f"{kind}_fraction": 0.5})
    assert str(error.value) == (
        f"decay_steps=None is invalid: {kind}_fraction=0.5 needs the run length; set "
        "decay_steps or pass run_steps=... to instantiate() / build_schedule()"
    )
    assert error.value.field == "decay_steps"


@pytest.mark.parametrize(("D", "start"), [(5, 4), (7, 6), (12, 10), (100, 80), (3, 2)])
def test_wsd_cools_down_over_the_last_fifth_by_default(D, start):
    assert start == nearest(Fraction(4, 5) * D)
    schedule = build_lr_scheduler(SchedulerConfig(lr=1.0, name="wsd", decay_steps=D))
    assert [(p.name, p.start, p.length) for p in schedule.phases] == [
        ("main", 0, start),
        ("cooldown", start, D - start),
    ]


def test_a_wsd_run_too_short_for_its_default_cooldown_says_why():
    with pytest.raises(ScheduleConfigError) as error:
        build_lr_scheduler(SchedulerConfig(lr=1.0, name="wsd", decay_steps=2))
    assert str(error.value) == (
        "decay_steps=2: a wsd schedule needs a decay phase, and its default cooldown (0.2 of "
        "the run) rounds to 0 steps; set cooldown_steps or a larger cooldown_fraction"
    )
    assert error.value.field == "cooldown_fraction"


def test_warmup_and_cooldown_steps_that_do_not_fit_name_all_three():
    with pytest.raises(ScheduleConfigError) as error:
        phases(decay_steps=10, warmup_steps=4, cooldown_steps=7)
    assert str(error.value) == (
        "warmup_steps=4 + cooldown_steps=7 > decay_steps=10 is invalid: warmup and cooldown "
        "must fit in decay_steps"
    )
    assert error.value.field == "decay_steps"
    assert phases(decay_steps=10, warmup_steps=4, cooldown_steps=6) == {
        "warmup": (0, 4),
        "cooldown": (4, 6),
    }


def test_a_decaying_family_without_a_main_phase_is_refused():
    with pytest.raises(ScheduleConfigError) as error:
        build_lr_scheduler(
            SchedulerConfig(lr=1.0, name="linear", decay_steps=10, warmup_steps=4, cooldown_steps=6)
        )
    assert str(error.value) == (
        "decay_steps=10 - warmup_steps=4 - cooldown_steps=6 = 0 is invalid: the linear schedule "
        "needs a main phase of at least one step"
    )
    assert error.value.field == "decay_steps"


def branched(**fields):
    """``{name: (start, length)}`` of a constant schedule with a branched cooldown."""
    return phases(cooldown_steps=1, **fields)


@pytest.mark.parametrize("D", [1, 2, 3, 7, 10, 20, 33, 90, 12345])
def test_a_cooldown_branches_off_at_the_nearest_step_to_the_exact_fraction(D):
    for text in DECIMALS:
        S = nearest(Fraction(text) * D)
        got = branched(decay_steps=D, cooldown_start_fraction=float(text))
        assert got["cooldown"] == (S, 1), text
        assert got == branched(decay_steps=D, cooldown_start=S), text


def test_the_branch_fraction_rounds_halves_up_from_the_written_decimal():
    # 0.35 * 90 = 31.5 exactly (the float 0.35 is a little less); 0.25 * 10 = 2.5
    assert branched(decay_steps=90, cooldown_start_fraction=0.35)["cooldown"] == (32, 1)
    assert branched(decay_steps=10, cooldown_start_fraction=0.25)["cooldown"] == (3, 1)


def test_a_branch_as_steps_and_as_a_fraction_is_refused():
    with pytest.raises(ScheduleConfigError) as error:
        branched(decay_steps=100, cooldown_start=80, cooldown_start_fraction=0.8)
    assert str(error.value) == (
        "cooldown_start=80 and cooldown_start_fraction=0.8 are both set: set only one of them"
    )
    assert error.value.field == "cooldown_start_fraction"


def test_a_branch_fraction_needs_the_run_length():
    with pytest.raises(ScheduleConfigError) as error:
        branched(decay_steps=None, cooldown_start_fraction=0.8)
    assert str(error.value) == (
        "decay_steps=None is invalid: cooldown_start_fraction=0.8 needs the run length; set "
        "decay_steps or pass run_steps=... to instantiate() / build_schedule()"
    )
    assert error.value.field == "decay_steps"


@pytest.mark.parametrize("fraction", [-0.1, 1.5, float("nan")])
def test_a_branch_fraction_is_in_0_1(fraction):
    with pytest.raises(ScheduleConfigError) as error:
        branched(decay_steps=100, cooldown_start_fraction=fraction)
    assert str(error.value) == (
        f"cooldown_start_fraction={fraction!r} is invalid: expected a number in [0, 1]"
    )


def test_a_branch_before_the_warmup_names_both_fractions_it_came_from():
    with pytest.raises(ScheduleConfigError) as error:
        branched(decay_steps=100, warmup_fraction=0.2, cooldown_start_fraction=0.1)
    assert str(error.value) == (
        "cooldown_start=10 (from cooldown_start_fraction=0.1 of decay_steps=100) is invalid: "
        "the cooldown starts after the warmup: expected a step >= warmup_steps=20 (from "
        "warmup_fraction=0.2 of decay_steps=100)"
    )
    assert error.value.field == "cooldown_start_fraction"


def test_a_length_from_a_fraction_is_named_with_the_fraction_it_came_from():
    # The message named a warmup_steps=3 the user never set.
    with pytest.raises(ScheduleConfigError) as error:
        phases(decay_steps=50, warmup_fraction=0.05, cooldown_steps=100)
    assert str(error.value) == (
        "warmup_steps=3 (from warmup_fraction=0.05 of decay_steps=50) + cooldown_steps=100 > "
        "decay_steps=50 is invalid: warmup and cooldown must fit in decay_steps"
    )


def test_wsds_default_cooldown_is_named_as_the_default_in_a_message():
    with pytest.raises(ScheduleConfigError) as error:
        build_lr_scheduler(SchedulerConfig(lr=1.0, name="wsd", decay_steps=10, warmup_steps=9))
    assert str(error.value) == (
        "warmup_steps=9 + cooldown_steps=2 (wsd's default cooldown, 0.2 of decay_steps=10) > "
        "decay_steps=10 is invalid: warmup and cooldown must fit in decay_steps"
    )


def test_a_main_phase_of_0_steps_names_where_each_length_came_from():
    with pytest.raises(ScheduleConfigError) as error:
        build_lr_scheduler(
            SchedulerConfig(
                lr=1.0, name="cosine", decay_steps=10, warmup_fraction=0.4, cooldown_fraction=0.6
            )
        )
    assert str(error.value) == (
        "decay_steps=10 - warmup_steps=4 (from warmup_fraction=0.4 of decay_steps=10) - "
        "cooldown_steps=6 (from cooldown_fraction=0.6 of decay_steps=10) = 0 is invalid: the "
        "cosine schedule needs a main phase of at least one step"
    )
