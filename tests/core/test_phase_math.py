"""Every family, phase and shape, evaluated on the host and in NumPy, against the spec.

The references are the float64 formulas of ``reference.py`` and exact numbers written out
here; nothing below asks the package to compute an expected value. These tests import no
JAX (the host and NumPy paths need none), so they are also part of the fast selection that
mutation testing runs once per mutant (``.ci/mutation``); ``test_semantics.py`` and
``test_extreme_steps.py`` check the JAX path.
"""

from __future__ import annotations

import itertools
import math
import pickle

import numpy as np
import pytest

from hydra_optax_schedules import SchedulerConfig, build_lr_scheduler

from support.reference import reference_lr

D = 20
LR = 2.0
WARMUPS = (
    {},
    {"warmup_steps": 3},
    {"warmup_fraction": 0.25, "warmup_shape": "cosine", "warmup_start_lr": 0.1},
)
COOLDOWNS = (
    {},
    {"cooldown_steps": 4, "cooldown_lr": 0.05},
    {"cooldown_fraction": 0.3, "cooldown_shape": "cosine"},
    {"cooldown_fraction": 0.35, "cooldown_shape": "sqrt", "cooldown_lr": 0.01},
)
# Each family with the fields that shape its main phase (an end value, power or timescale).
MAINS = (
    {"name": "constant"},
    {"name": "wsd"},
    {"name": "linear", "end_lr_factor": 0.25},
    {"name": "linear", "end_lr": 3.0},  # a rising line
    {"name": "cosine", "end_lr": 0.5},
    {"name": "cosine_decay"},
    {"name": "exponential", "end_lr_factor": 0.25},
    {"name": "exponential_decay", "end_lr": 4.0},
    {"name": "polynomial", "power": 0.5, "end_lr": 0.2},
    {"name": "polynomial", "power": 3.0},
    {"name": "inverse_sqrt", "timescale": 6.0},
)


def bounded_cases():
    for main, warmup, cooldown in itertools.product(MAINS, WARMUPS, COOLDOWNS):
        if main["name"] == "wsd" and not cooldown:
            continue  # wsd's default cooldown is its own case below
        yield {"lr": LR, "decay_steps": D, **main, **warmup, **cooldown}
    yield {"lr": LR, "decay_steps": D, "name": "wsd"}
    yield {"lr": LR, "decay_steps": D, "name": "wsd", "warmup_steps": 5}
    for main, warmup in itertools.product(MAINS[:1] + MAINS[-1:], WARMUPS[:2]):
        yield {"lr": LR, "decay_steps": None, **main, **warmup}  # open-ended


CASES = list(bounded_cases())


def ids(case):
    return ",".join(f"{k}={v}" for k, v in case.items() if k != "lr")


def steps_of(case):
    end = case["decay_steps"] or 30
    return [-3, *range(end + 4), 2 * end, 10**7]


def peak(case):
    return max(case["lr"], case.get("warmup_start_lr", 0.0), case.get("end_lr", 0.0))


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_host_and_numpy_values_equal_the_float64_reference(case):
    schedule = build_lr_scheduler(SchedulerConfig(**case))
    steps = steps_of(case)
    want = [reference_lr(s, **case) for s in steps]
    tolerance = {"rtol": 1e-12, "atol": 1e-14 * peak(case)}
    host = [schedule(s) for s in steps]
    assert all(type(value) is float for value in host)
    np.testing.assert_allclose(host, want, **tolerance)
    for dtype in (np.int64, np.int32, np.float64):
        values = schedule(np.array(steps, dtype=dtype))
        assert values.dtype == np.float64
        np.testing.assert_allclose(values, want, **tolerance)


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_fractional_steps_follow_the_same_curves(case):
    schedule = build_lr_scheduler(SchedulerConfig(**case))
    steps = [s + 0.5 for s in steps_of(case)[:-1]]
    want = [reference_lr(s, **case) for s in steps]
    tolerance = {"rtol": 1e-12, "atol": 1e-14 * peak(case)}
    np.testing.assert_allclose([schedule(s) for s in steps], want, **tolerance)
    np.testing.assert_allclose(schedule(np.array(steps)), want, **tolerance)


def test_the_case_list_covers_every_family_and_both_ends_of_the_run():
    assert {case["name"] for case in CASES} >= {
        "constant",
        "wsd",
        "linear",
        "cosine",
        "exponential",
        "polynomial",
        "inverse_sqrt",
    }
    assert len(CASES) > 120


# --- Exact values at the phase boundaries -------------------------------------------------


def values(steps, **fields):
    schedule = build_lr_scheduler(SchedulerConfig(**fields))
    host = [schedule(s) for s in steps]
    assert schedule(np.array(steps)).tolist() == host
    return host


def test_linear_phases_at_their_quarter_points_are_exact():
    # warmup 0 -> 1 over 4 steps, main 1 -> 0.5 over 8, cooldown 0.5 -> 0.25 over 4
    fields = dict(lr=1.0, name="linear", decay_steps=16, warmup_steps=4, cooldown_steps=4)
    fields |= dict(end_lr=0.5, cooldown_lr=0.25)
    got = values(range(-1, 18), **fields)
    want = [0.0, 0.0, 0.25, 0.5, 0.75, 1.0, 0.9375, 0.875, 0.8125, 0.75, 0.6875, 0.625]
    want += [0.5625, 0.5, 0.4375, 0.375, 0.3125, 0.25, 0.25]
    assert got == want


def test_a_rising_line_is_exact_at_its_quarter_points():
    assert values([0, 1, 2, 3, 4, 5], lr=1.0, name="linear", decay_steps=4, end_lr=2.0) == [
        1.0,
        1.25,
        1.5,
        1.75,
        2.0,
        2.0,
    ]


def test_cosine_quarter_points():
    got = values([0, 2, 4, 6, 8, 9], lr=1.0, name="cosine", decay_steps=8, end_lr=0.5)
    c = math.cos(math.pi / 4)
    want = [1.0, 0.5 + 0.5 * (1 + c) / 2, 0.75, 0.5 + 0.5 * (1 - c) / 2, 0.5, 0.5]
    assert got == pytest.approx(want, rel=1e-15, abs=0)
    assert got[2] == 0.75 and got[-2:] == [0.5, 0.5]


def test_cosine_warmup_is_a_half_cosine_ramp_from_the_start_lr():
    got = values(range(5), lr=1.0, decay_steps=10, warmup_steps=4, warmup_shape="cosine")
    want = [0.0, (1 - math.cos(math.pi / 4)) / 2, 0.5, (1 + math.cos(math.pi / 4)) / 2, 1.0]
    assert got == pytest.approx(want, rel=1e-15, abs=1e-16)


def test_exponential_halves_every_two_steps_on_its_way_to_a_sixteenth():
    # lr 1 -> 1/16 over 8 steps: a factor 1/2 every two steps
    got = values(range(10), lr=1.0, name="exponential", decay_steps=8, end_lr=1 / 16)
    want = [2.0 ** -(s / 2) for s in range(9)] + [1 / 16]
    assert got == pytest.approx(want, rel=1e-15)
    assert got[-2:] == [1 / 16, 1 / 16]


@pytest.mark.parametrize("power", [0.5, 1.0, 2.0, 3.0])
def test_polynomial_is_end_plus_the_gap_times_the_remaining_fraction_to_the_power(power):
    got = values(range(6), lr=1.5, name="polynomial", decay_steps=4, end_lr=0.5, power=power)
    want = [0.5 + 1.0 * (1 - s / 4) ** power for s in range(5)] + [0.5]
    assert got == pytest.approx(want, rel=1e-15)
    assert got[0] == 1.5 and got[4:] == [0.5, 0.5]


def test_inverse_sqrt_is_lr_times_the_root_of_tau_over_tau_plus_t():
    got = values([0, 1, 3, 6, 10**6], lr=2.0, name="inverse_sqrt", timescale=3.0)
    assert got == pytest.approx(
        [
            2.0,
            2 * math.sqrt(3 / 4),
            2 * math.sqrt(1 / 2),
            2 / 3**0.5,
            2 * math.sqrt(3 / (3 + 10**6)),
        ],
        rel=1e-15,
    )
    assert got[0] == 2.0


def test_inverse_sqrt_cooldown_starts_from_where_the_main_phase_got_to():
    fields = dict(lr=1.0, name="inverse_sqrt", decay_steps=12, timescale=2.0, cooldown_steps=4)
    got = values(range(8, 14), **fields)
    reached = math.sqrt(2 / (2 + 8))  # the main phase's value at its end, t = 8
    want = [reached * (1 - u / 4) for u in range(5)] + [0.0]
    assert got == pytest.approx(want, rel=1e-15, abs=1e-17)


def test_one_minus_sqrt_cooldown_of_wsd():
    got = values(range(15, 23), lr=1.0, name="wsd", decay_steps=20, cooldown_lr=0.1)
    # the last fifth (4 steps) from 1 to 0.1 along 1 - sqrt
    want = [1.0] + [0.1 + 0.9 * (1 - math.sqrt(u / 4)) for u in range(5)] + [0.1, 0.1]
    assert got == pytest.approx(want, rel=1e-15)
    assert got[-3:] == [0.1, 0.1, 0.1]


@pytest.mark.parametrize("name", ["linear", "cosine", "exponential", "polynomial"])
@pytest.mark.parametrize("end_lr", [0.1, 0.3, 1 / 3])
def test_the_end_value_holds_exactly_at_and_past_the_end(name, end_lr):
    steps = [7, 8, 9, 10**9]
    got = values(steps, lr=0.7, name=name, decay_steps=7, end_lr=end_lr)
    assert got == [end_lr] * 4
    schedule = build_lr_scheduler(SchedulerConfig(lr=0.7, name=name, decay_steps=7, end_lr=end_lr))
    for dtype in (np.int8, np.uint8, np.int16, np.float64):
        assert schedule(np.array(steps[:3], dtype=dtype)).tolist() == [end_lr] * 3


@pytest.mark.parametrize("shape", ["linear", "cosine", "sqrt"])
@pytest.mark.parametrize("cooldown_lr", [0.0, 0.1, 1 / 3])
def test_a_cooldown_ends_exactly_at_its_cooldown_lr(shape, cooldown_lr):
    fields = dict(lr=0.7, name="cosine", decay_steps=11, end_lr=0.3, cooldown_steps=3)
    fields |= dict(cooldown_shape=shape, cooldown_lr=cooldown_lr)
    assert values([11, 12, 10**6], **fields) == [cooldown_lr] * 3
    # the cooldown starts at the main phase's end
    assert values([8], **fields) == [pytest.approx(0.3, rel=1e-15)]


def test_a_warmup_ends_exactly_at_the_peak():
    for shape in ("linear", "cosine"):
        fields = dict(lr=0.7, decay_steps=10, warmup_steps=3, warmup_shape=shape)
        assert values([3, 4], **fields, warmup_start_lr=0.1) == [0.7, 0.7]


# --- Steps of every kind ----------------------------------------------------------------------

COSINE = dict(lr=1.0, name="cosine", decay_steps=300, warmup_steps=10, cooldown_steps=100)
COSINE |= dict(end_lr=0.5, cooldown_lr=0.1)


@pytest.mark.parametrize(
    "dtype", [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64]
)
def test_every_integer_dtype_counts_exactly_up_to_its_largest_step(dtype):
    schedule = build_lr_scheduler(SchedulerConfig(**COSINE))
    info = np.iinfo(dtype)
    steps = np.unique(
        np.clip(
            [info.min, -1, 0, 5, 10, 126, 127, 128, 199, 200, 255, 256, 299, 300, 301, info.max],
            info.min,
            info.max,
        )
    ).astype(dtype)
    got = schedule(steps)
    assert got.dtype == np.float64 and got.shape == steps.shape
    want = [reference_lr(int(s), **COSINE) for s in steps]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_an_int8_run_that_ends_at_its_largest_step_holds_the_end_value_exactly():
    fields = dict(lr=0.7, name="cosine", decay_steps=127, end_lr=0.1)
    schedule = build_lr_scheduler(SchedulerConfig(**fields))
    got = schedule(np.array([126, 127], dtype=np.int8))
    assert got[1] == 0.1
    assert got[0] == pytest.approx(reference_lr(126, **fields), rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_float_steps_keep_their_dtype(dtype):
    schedule = build_lr_scheduler(SchedulerConfig(**COSINE))
    steps = np.array([-2.0, 0.0, 5.5, 10.0, 150.25, 250.0, 300.0, 1e4], dtype=dtype)
    got = schedule(steps)
    assert got.dtype == dtype
    want = [reference_lr(float(s), **COSINE) for s in steps]
    np.testing.assert_allclose(got, want, rtol=4 * np.finfo(dtype).eps, atol=0)


def test_infinite_and_nan_steps():
    schedule = build_lr_scheduler(SchedulerConfig(**COSINE))
    assert math.isnan(schedule(math.nan))
    assert schedule(math.inf) == 0.1 and schedule(-math.inf) == 0.0
    got = schedule(np.array([math.nan, -math.inf, math.inf, 5.0]))
    assert math.isnan(got[0]) and got[1:].tolist() == [0.0, 0.1, 0.5]
    open_ended = build_lr_scheduler(SchedulerConfig(lr=0.3, warmup_steps=2))
    assert math.isnan(open_ended(np.float64(math.nan)))
    assert np.isnan(open_ended(np.array([math.nan, 1.0]))).tolist() == [True, False]
    assert open_ended(np.array([1.0, math.inf])).tolist() == [0.15, 0.3]


def test_numpy_scalars_give_python_floats():
    schedule = build_lr_scheduler(SchedulerConfig(**COSINE))
    for step in (np.int64(5), np.int8(5), np.uint16(5), np.float32(5.0), np.float64(5.0)):
        got = schedule(step)
        assert type(got) is float and got == 0.5


@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 3)])
@pytest.mark.parametrize("fields", [dict(lr=0.3), COSINE], ids=["constant", "cosine"])
def test_arrays_keep_their_shape(shape, fields):
    schedule = build_lr_scheduler(SchedulerConfig(**fields))
    steps = (np.arange(math.prod(shape), dtype=np.int64) * 7).reshape(shape)
    got = schedule(steps)
    assert isinstance(got, np.ndarray) and got.shape == shape and got.dtype == np.float64
    want = [reference_lr(int(s), **fields) for s in steps.ravel()]
    np.testing.assert_allclose(got.ravel(), want, rtol=1e-12, atol=1e-15)


def test_a_constant_schedule_in_numpy_is_its_lr_everywhere():
    schedule = build_lr_scheduler(SchedulerConfig(lr=0.3))
    assert schedule(np.array([0, 10**6], dtype=np.int32)).tolist() == [0.3, 0.3]
    assert schedule(np.array([0.5], dtype=np.float32)).dtype == np.float32


def test_boolean_steps_are_a_type_error():
    schedule = build_lr_scheduler(SchedulerConfig(**COSINE))
    for step in (True, False):
        with pytest.raises(TypeError) as error:
            schedule(step)
        assert str(error.value) == "step=True/False is invalid: a step is a number, not a boolean"
    for steps in (np.array([True, False]), np.array(True)):
        with pytest.raises(TypeError) as error:
            schedule(steps)
        assert str(error.value) == (
            "steps of dtype bool are invalid: a step is a number, not a boolean"
        )


def test_int64_steps_past_two_to_the_53_count_exactly():
    # a float64 cannot tell these steps apart: each is 2**60 + a few
    W = 2**60 + 1
    fields = dict(lr=1.0, name="linear", decay_steps=W + 4, warmup_steps=W, end_lr=0.5)
    schedule = build_lr_scheduler(SchedulerConfig(**fields))
    steps = np.array([W - 1, W, W + 1, W + 2, W + 3, W + 4, W + 5], dtype=np.int64)
    assert schedule(steps).tolist() == [1.0, 1.0, 0.875, 0.75, 0.625, 0.5, 0.5]
    assert [schedule(int(s)) for s in steps] == [1.0, 1.0, 0.875, 0.75, 0.625, 0.5, 0.5]


def test_a_phase_that_starts_at_the_largest_int8_step_is_evaluated_there():
    fields = dict(lr=0.7, name="cosine", decay_steps=130, end_lr=0.1, cooldown_steps=3)
    schedule = build_lr_scheduler(SchedulerConfig(**fields, cooldown_shape="cosine"))
    assert schedule.phases[-1].start == 127
    assert schedule(np.array([127], dtype=np.int8)).tolist() == [0.1]  # the cooldown's start


# --- The phases -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["cosine", "polynomial", "inverse_sqrt", "constant", "wsd"])
def test_a_schedule_has_a_warmup_a_main_phase_and_a_cooldown(name):
    fields = dict(lr=1.0, name=name, decay_steps=20, warmup_steps=3, cooldown_steps=4)
    phases = build_lr_scheduler(SchedulerConfig(**fields)).phases
    assert [(p.name, p.start, p.length) for p in phases] == [
        ("warmup", 0, 3),
        ("main", 3, 13),
        ("cooldown", 16, 4),
    ]


def test_empty_phases_are_left_out_but_a_last_main_phase_stays():
    def names(**fields):
        schedule = build_lr_scheduler(SchedulerConfig(lr=1.0, decay_steps=10, **fields))
        return [(p.name, p.length) for p in schedule.phases]

    assert names(warmup_steps=10) == [("warmup", 10), ("main", 0)]
    assert names(warmup_steps=9, cooldown_steps=1) == [("warmup", 9), ("cooldown", 1)]
    assert names(cooldown_steps=10) == [("cooldown", 10)]
    assert names() == [("main", 10)]


def test_an_inverse_sqrt_phase_that_never_ends_tends_to_zero():
    schedule = build_lr_scheduler(SchedulerConfig(lr=1.0, name="inverse_sqrt", timescale=4.0))
    (main,) = schedule.phases
    assert (main.length, main.end, main.end_value) == (None, None, 0.0)


# --- The schedule object --------------------------------------------------------------------


def test_a_schedule_is_equal_hashable_and_picklable_by_its_config():
    config = SchedulerConfig(**COSINE)
    schedule = build_lr_scheduler(config)
    twin = build_lr_scheduler(SchedulerConfig(**COSINE))
    other = build_lr_scheduler(SchedulerConfig(**{**COSINE, "end_lr": 0.4}))
    assert schedule == twin and hash(schedule) == hash(twin)
    variants = [build_lr_scheduler(SchedulerConfig(lr=lr)) for lr in (0.1, 0.2, 0.3, 0.4)]
    assert len({hash(variant) for variant in variants}) > 1  # a hash that tells them apart
    assert schedule != other and schedule != config
    copy = pickle.loads(pickle.dumps(schedule))
    assert copy == schedule and type(copy) is type(schedule)
    assert copy.phases == schedule.phases
    assert [copy(s) for s in (0, 150, 299)] == [schedule(s) for s in (0, 150, 299)]
    assert repr(schedule).startswith("Schedule(SchedulerConfig(lr=1.0, name='cosine'")


def test_a_schedule_cannot_be_changed():
    schedule = build_lr_scheduler(SchedulerConfig(**COSINE))
    for change in (
        lambda: setattr(schedule, "config", None),
        lambda: setattr(schedule, "phases", ()),
    ):
        with pytest.raises(AttributeError, match="a Schedule is immutable"):
            change()
    assert schedule(5) == 0.5
