"""Bounded work: every accepted config builds and loads within a bounded number of pieces and
of memory, whatever its counts; a count past ``MAX_COUNT`` is refused before any work.

Measures are deterministic (pieces built, ``tracemalloc`` peaks with a margin), never time.
The figures these bounds keep (seconds, well under 1 GB) are in BENCHMARKS.md, "Bounded work".
"""

from __future__ import annotations

import tracemalloc
from fractions import Fraction

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from hydra_optax_schedules import ScheduleConfigError, SchedulerConfig, build_lr_scheduler
from hydra_optax_schedules.plan.cycles import _geometric_offsets
from hydra_optax_schedules.safe_load import load_schedule
from hydra_optax_schedules.values import MAX_COUNT

#: The most pieces a plan may have: a warmup, a cooldown, a hold, and per cycle at most three
#: (a rewarmup, a stable phase and a decay, for wsd with restarts).
MOST_PIECES = 3 * MAX_COUNT + 3
#: The most memory building or loading any accepted config may take, with a margin: a
#: plan of MOST_PIECES pieces is about 15 MB.
MOST_BYTES = 64 * 2**20


def peak_bytes(function, *args, **kwargs):
    """``(result, peak)``: what ``function`` returns and the most memory it held."""
    tracemalloc.start()
    try:
        result = function(*args, **kwargs)
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@st.composite
def many_pieces(draw):
    """A config of up to MAX_COUNT cycles, milestones or stages, over a long run."""
    kind = draw(st.sampled_from(["cycles", "wsd", "milestones", "stages"]))
    count = draw(st.sampled_from([2, MAX_COUNT - 1, MAX_COUNT]))
    D = draw(st.sampled_from([10**12, 2**62, 4 * MAX_COUNT]))
    case = {"lr": 1.0, "decay_steps": D, "warmup_steps": draw(st.sampled_from([0, 3]))}
    if kind in ("cycles", "wsd"):
        case["name"] = "cosine" if kind == "cycles" else "wsd"
        case["cycles"] = count
        case["cycle_mult"] = draw(st.sampled_from([1.0, 1.0000000000000002, 0.9999999999999999]))
        case["rewarmup_steps"] = draw(st.sampled_from([0, 1]))
    elif kind == "milestones":
        case.update(name="multistep", decay_factor=1.0)
        case["milestones"] = list(range(4, 4 + count))
    else:
        case.update(name="stages", stages=[{"steps": 2, "end": 0.5}] * count)
    return case


@settings(max_examples=4, deadline=None)  # each builds and loads up to 30,000 pieces
@given(many_pieces())
def test_any_count_up_to_the_limit_builds_and_loads_within_the_bounds(case):
    try:
        schedule, built = peak_bytes(build_lr_scheduler, SchedulerConfig(**case))
    except ScheduleConfigError:  # e.g. 10000 cycles of a main phase too short: refused
        return
    assert len(schedule.pieces) <= MOST_PIECES
    assert built <= MOST_BYTES
    text = "\n".join(f"{key}: {value!r}" for key, value in case.items())
    loaded, read = peak_bytes(load_schedule, text)
    assert loaded == schedule and read <= MOST_BYTES


@pytest.mark.parametrize("cycles", [MAX_COUNT + 1, 10**9, 2**62])
@pytest.mark.parametrize("name", ["cosine", "wsd"])
def test_more_cycles_than_the_limit_are_refused_before_any_is_built(name, cycles):
    config = SchedulerConfig(lr=1.0, name=name, decay_steps=2**63 - 1, cycles=cycles)
    with pytest.raises(ScheduleConfigError, match=f"MAX_COUNT = {MAX_COUNT}") as caught:
        build_lr_scheduler(config)
    assert caught.value.field == "cycles"


@pytest.mark.parametrize(
    ("field", "item", "extra"),
    [
        ("milestones", 5, {"name": "multistep"}),
        ("milestone_fractions", 0.5, {"name": "multistep"}),
        ("stages", {"steps": 1}, {"name": "stages"}),
    ],
)
def test_a_list_longer_than_the_limit_is_refused_before_its_items_are_read(field, item, extra):
    long = [item] * 10**6
    config = SchedulerConfig(lr=1.0, decay_steps=10**9, **extra, **{field: long})
    with pytest.raises(ScheduleConfigError) as caught:
        build_lr_scheduler(config)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field} has 1000000 items, which is invalid: at most")
    # Refused from its length: no item was checked (each check would hold memory).
    tracemalloc.start()
    with pytest.raises(ScheduleConfigError):
        build_lr_scheduler(config)
    assert tracemalloc.get_traced_memory()[1] < 2**20
    tracemalloc.stop()


def test_a_loaded_list_longer_than_the_limit_is_refused_naming_the_limit():
    text = "name: multistep\nlr: 1.0\ndecay_steps: 1000000000\nmilestones: [" + ", ".join(
        str(i) for i in range(1, MAX_COUNT + 2)
    )
    with pytest.raises(ScheduleConfigError, match="MAX_COUNT") as caught:
        load_schedule(text + "]")
    assert caught.value.field == "milestones"


def exact_offsets(m, n, M):
    """``floor(M * S_i / S_n + 1/2)``, ``S_i = (m^i - 1) / (m - 1)``, in integers: with
    ``m = p / q``, ``S_i / S_n = (p^i q^(n - i) - q^n) / (p^n - q^n)``."""
    p, q = m.numerator, m.denominator
    p_powers, q_powers = [1], [1]
    for _ in range(n):
        p_powers.append(p_powers[-1] * p)
        q_powers.append(q_powers[-1] * q)
    whole = p_powers[n] - q_powers[n]
    return [
        (2 * M * (p_powers[i] * q_powers[n - i] - q_powers[n]) + whole) // (2 * whole)
        for i in range(n + 1)
    ]


@settings(max_examples=5, deadline=None)
@given(
    st.sampled_from(["1.0000000000000002", "0.9999999999999999", "1.0000000001", "0.999999999"]),
    st.integers(610, 700),
    st.sampled_from([2**62, 10**15 + 1, 10**12]),
)
def test_cycle_boundaries_of_a_many_digit_mult_are_exact(mult, n, M):
    """The offsets of many cycles of a many-digit ``cycle_mult`` come from decimals of a
    bounded precision (linear work), and are still the exact ones."""
    m = Fraction(mult)
    assert _geometric_offsets(m, n, M) == exact_offsets(m, n, M)


def test_a_long_list_elsewhere_in_a_run_config_is_left_unread():
    files = ", ".join(f"f{i}" for i in range(MAX_COUNT + 1))
    text = f"data:\n  files: [{files}]\nscheduler:\n  name: cosine\n  lr: 1.0\n  decay_steps: 10\n"
    assert load_schedule(text, key="scheduler")(5) == 0.5
    with pytest.raises(
        ScheduleConfigError, match=r"scheduler\.stages has more than 10000 items"
    ) as caught:
        load_schedule(text + f"  stages: [{files}]\n", key="scheduler")
    assert caught.value.field == "stages"
