"""Fractions of the run become integer boundaries exactly (the decimal the user wrote).

The warmup ends at ``round(warmup_fraction * D)`` and the cooldown starts at
``round((1 - cooldown_fraction) * D)``, halves rounding up, with the fraction read as the
decimal it was written as. The reference here is ``fractions.Fraction`` arithmetic on that
decimal's text; no float product is involved, so a float-rounding bug cannot hide in both.
"""

from __future__ import annotations

import itertools
import math
import warnings
from fractions import Fraction

import hypothesis.strategies as st
import pytest
from hypothesis import assume, given

from hydra_optax_schedules import ScheduleConfigError, SchedulerConfig, build_lr_scheduler


def nearest(position: Fraction) -> int:
    return math.floor(position + Fraction(1, 2))


@st.composite
def decimals(draw, max_digits=8):
    """A fraction in [0, 1] written as a decimal with up to ``max_digits`` digits: its text."""
    digits = draw(st.integers(1, max_digits))
    numerator = draw(st.integers(0, 10**digits))
    whole, part = divmod(numerator, 10**digits)
    return f"{whole}.{part:0{digits}d}"


RUN_LENGTHS = st.one_of(st.integers(1, 1000), st.integers(1, 10**7), st.integers(1, 2**62))


def boundaries(text_warmup, text_cooldown, D):
    """The exact ``(end of warmup, start of cooldown)``."""
    return nearest(Fraction(text_warmup) * D), nearest((1 - Fraction(text_cooldown)) * D)


def build_constant(D, warmup_fraction, cooldown_fraction):
    config = SchedulerConfig(
        lr=1.0,
        decay_steps=D,
        warmup_fraction=warmup_fraction,
        cooldown_fraction=cooldown_fraction,
        cooldown_lr=0.5,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cooldown_lr has no effect when C rounds to 0
        return build_lr_scheduler(config)


def phase_ends(schedule):
    """``{phase name: (start, end)}`` of the built schedule."""
    return {phase.name: (phase.start, phase.end) for phase in schedule.phases}


@pytest.mark.parametrize(
    ("warmup", "cooldown", "D", "W", "cooldown_start"),
    [
        ("0.1", "0.9", 12345, 1235, 1235),  # 1234.5 and 1234.5: both round up, they meet
        ("0.35", "0.0", 90, 32, 90),  # 31.5 rounds up to 32 (0.35 * 90 is 31.499... in floats)
        ("0.15", "0.0", 10, 2, 10),  # 1.5
        ("0.7", "0.3", 15, 11, 11),  # 10.5 and 10.5
        ("0.29", "0.71", 50, 15, 15),  # 14.5, 14.5
        ("0.0", "1.0", 7, 0, 0),
        ("1.0", "0.0", 7, 7, 7),
        ("0.5", "0.5", 2**62 + 1, 2**61 + 1, 2**61 + 1),  # beyond a float's integers
    ],
)
def test_examples_put_boundaries_at_the_exact_nearest_step(warmup, cooldown, D, W, cooldown_start):
    assert boundaries(warmup, cooldown, D) == (W, cooldown_start)  # the test's own reference
    schedule = build_constant(D, float(warmup), float(cooldown))
    ends = phase_ends(schedule)
    assert ends.get("warmup", (0, 0))[1] == W
    assert ends.get("cooldown", (D, D))[0] == cooldown_start


@given(decimals(), decimals(), RUN_LENGTHS)
def test_fractions_summing_to_at_most_one_always_fit_at_the_exact_boundaries(wf, cf, D):
    if Fraction(wf) + Fraction(cf) > 1:
        with pytest.raises(ScheduleConfigError, match="cooldown_fraction") as error:
            build_constant(D, float(wf), float(cf))
        assert error.value.field == "cooldown_fraction"
        return
    W, cooldown_start = boundaries(wf, cf, D)
    assert cooldown_start >= W  # what makes them fit
    ends = phase_ends(build_constant(D, float(wf), float(cf)))
    assert ends.get("warmup", (0, 0))[1] == W
    assert ends.get("cooldown", (D, D))[0] == cooldown_start
    main = ends.get("main")
    if main is not None:
        assert main == (W, cooldown_start)


@given(decimals(), st.integers(2, 10**6))
def test_the_value_changes_phase_exactly_at_the_boundary(wf, D):
    """Linear warmup to lr = 1: below 1 on the warmup's last step, 1 at its boundary."""
    W = nearest(Fraction(wf) * D)
    schedule = build_lr_scheduler(SchedulerConfig(lr=1.0, decay_steps=D, warmup_fraction=float(wf)))
    if W > 0:
        assert schedule(W - 1) < 1.0
    assert schedule(W) == 1.0


@st.composite
def multipliers(draw):
    """A ``cycle_mult`` other than 1, written with up to 17 significant digits: its text."""
    value = draw(
        st.one_of(
            st.floats(0.25, 4.0),
            st.integers(1, 99).map(lambda k: 1 + k / 10**4),
            st.integers(1, 99).map(lambda k: 1 - k / 10**4),
        )
    )
    assume(value != 1.0)
    return repr(value)


@given(multipliers(), st.integers(2, 60), st.integers(1, 10**12))
def test_cycles_start_at_the_exact_geometric_boundaries(text_mult, n, M):
    """Cycle ``i`` starts at ``floor(M * S_i / S_n + 1/2)``, ``S_i = m^0 + ... + m^(i-1)``,
    in exact rationals on the decimal ``cycle_mult`` was written as."""
    m = Fraction(text_mult)
    sums = [sum((m**j for j in range(i)), Fraction(0)) for i in range(n + 1)]
    starts = [nearest(M * sums[i] / sums[n]) for i in range(n + 1)]
    config = SchedulerConfig(
        lr=1.0, name="linear", decay_steps=M, cycles=n, cycle_mult=float(text_mult)
    )
    if any(after - first < 1 for first, after in itertools.pairwise(starts)):
        with pytest.raises(ScheduleConfigError) as error:
            build_lr_scheduler(config)
        assert error.value.field == "cycles"
        return
    phases = build_lr_scheduler(config).phases
    assert [phase.start for phase in phases] == starts[:-1]
    assert phases[-1].end == M
