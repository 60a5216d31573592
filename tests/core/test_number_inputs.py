"""What counts as a number in a config, the bounds of each field, and the messages that say so.

A field's number may be a Python ``int`` or ``float``, a NumPy or JAX scalar (a 0-d array),
or any ``numbers.Real``; booleans, strings, complex numbers and ``None`` (where a number is
required) are not. A float32 becomes the decimal its user wrote. Every refusal is one
``ScheduleConfigError``: ``field=value is invalid: what is valid``, the value shown in at most
60 characters.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from hydra_optax_schedules import ScheduleConfigError, SchedulerConfig, build_lr_scheduler

FLOAT32_MAX = "3.403e+38"
FLOAT32_TINY = "1.175e-38"
FROM_THE_ENVIRONMENT = ", not a string (from the environment: ${oc.decode:${oc.env:NAME}})"


def normalized(**fields):
    """The config a schedule keeps: every number a plain Python int or float."""
    return build_lr_scheduler(SchedulerConfig(**fields)).config


def refusal(**fields):
    with pytest.raises(ScheduleConfigError) as error:
        build_lr_scheduler(SchedulerConfig(**fields))
    return str(error.value)


@pytest.mark.parametrize(
    ("value", "number"),
    [
        (np.float32(0.35), 0.35),  # the decimal written, not 0.3499999940395355
        (np.float16(0.1), 0.1),
        (np.float64(0.1), 0.1),
        (np.array(2.5), 2.5),
        (Fraction(1, 4), 0.25),
        (np.int64(3), 3),
        (np.uint8(3), 3),
        (np.array(3), 3),
    ],
)
def test_numpy_scalars_and_fractions_are_numbers(value, number):
    config = normalized(lr=value, name="cosine", decay_steps=10, end_lr_factor=value)
    assert config.lr == number and type(config.lr) is float
    assert config.end_lr_factor == number and type(config.end_lr_factor) is float


@pytest.mark.parametrize("value", [np.int64(40), np.uint16(40), np.array(40), 40])
def test_integer_scalars_are_step_counts(value):
    config = normalized(
        lr=1.0, decay_steps=value, warmup_steps=value // 4, cooldown_steps=value // 2
    )
    assert (config.decay_steps, config.warmup_steps, config.cooldown_steps) == (40, 10, 20)
    assert all(type(n) is int for n in (config.decay_steps, config.warmup_steps))


@pytest.mark.parametrize(
    "value", [np.bool_(True), np.complex64(1), np.array([1.0]), np.array("1"), b"1", [1.0]]
)
def test_booleans_complex_numbers_arrays_and_bytes_are_not_numbers(value):
    assert refusal(lr=value).startswith(f"lr={value!r} is invalid: expected a number > 0")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            dict(lr=1e39),
            "lr=1e+39 is invalid: expected a number > 0 that float32 holds "
            f"(from {FLOAT32_TINY} to {FLOAT32_MAX})",
        ),
        (dict(lr=3.5e38), "lr=3.5e+38 is invalid: expected a number > 0 that float32 holds"),
        (dict(lr=0), "lr=0 is invalid: expected a number > 0 that float32 holds"),
        (dict(cooldown_lr=-1.0), "cooldown_lr=-1.0 is invalid: expected a number >= 0 that "),
        (dict(end_lr_factor=-1.0), "end_lr_factor=-1.0 is invalid: expected a finite number >= 0"),
        (dict(power=0.0), "power=0.0 is invalid: expected a finite number > 0"),
        (dict(power=1e39), "power=1e+39 is invalid: expected a finite number > 0 that float32"),
        (dict(timescale=1e-39), "timescale=1e-39 is invalid: expected a finite number > 0 that"),
        (dict(lr=1e-39), "lr=1e-39 is invalid: expected a number > 0 that float32 holds (from"),
        (
            dict(end_lr=1e-40),
            "end_lr=1e-40 is invalid: expected a number >= 0 that float32 holds (0,",
        ),
        (
            dict(warmup_fraction=1.01),
            "warmup_fraction=1.01 is invalid: expected a number in [0, 1]",
        ),
        (
            dict(decay_steps=2**63),
            "decay_steps=9223372036854775808 is invalid: expected a whole "
            "number of steps in [0, 2**63)",
        ),
        (dict(warmup_steps=-1), "warmup_steps=-1 is invalid: expected a whole number of steps"),
        (dict(decay_steps=10**5000), "decay_steps=<an int of about 5000 digits> is invalid"),
        (dict(lr=10**400), f"lr=1{'0' * 44}... (401 characters) is invalid: expected a number"),
        (dict(lr=Fraction(10**400)), "lr=Fraction(100000000000000000000000000000000"),
        (dict(name="x" * 80), f"name='{'x' * 44}... (82 characters) is invalid: expected one of"),
        (
            dict(cooldown_shape=3),
            "cooldown_shape=3 is invalid: expected one of 'linear', 'cosine', 'sqrt'",
        ),
    ],
)
def test_out_of_range_values_are_refused_with_what_is_valid(fields, message):
    assert refusal(**{"lr": 1.0, **fields}).startswith(message)


def test_the_largest_values_are_accepted():
    config = normalized(lr=3.4028234663852886e38, decay_steps=2**63 - 1, warmup_fraction=1.0)
    assert (config.lr, config.decay_steps, config.warmup_fraction) == (
        3.4028234663852886e38,
        2**63 - 1,
        1.0,
    )
    assert normalized(lr=1.1754943508222875e-38, name="linear", decay_steps=1).lr > 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        (dict(lr="3e-4"), "lr='3e-4' is invalid: expected a number > 0 that float32 holds"),
        (dict(warmup_fraction="0.5"), "warmup_fraction='0.5' is invalid: expected a number in"),
        (dict(decay_steps="100"), "decay_steps='100' is invalid: expected a whole number"),
        (dict(end_lr_factor="inf"), "end_lr_factor='inf' is invalid: expected a finite number"),
    ],
)
def test_a_number_written_as_a_string_says_how_to_pass_a_number(fields, field):
    message = refusal(**{"lr": 1.0, **fields})
    assert message.startswith(field) and message.endswith(FROM_THE_ENVIRONMENT)


@pytest.mark.parametrize("value", ["abc", "", "1e-3x", 1j])
def test_other_values_get_no_such_hint(value):
    message = refusal(lr=value)
    assert message.startswith(f"lr={value!r} is invalid") and "environment" not in message


def test_an_end_factor_that_takes_the_end_value_past_float32_is_refused():
    message = refusal(lr=1e38, name="linear", decay_steps=10, end_lr_factor=10.0)
    assert message == (
        f"end_lr_factor=10.0 * lr=1e+38 is invalid: the end learning rate must be one that "
        f"float32 holds (0, or from {FLOAT32_TINY} to {FLOAT32_MAX})"
    )
    assert normalized(lr=1e38, name="linear", decay_steps=10, end_lr_factor=3.0).end_lr_factor == 3


def test_end_lr_and_end_lr_factor_must_agree_to_a_millionth():
    fields = dict(lr=2.0, name="linear", decay_steps=10, end_lr=1.0)
    assert build_lr_scheduler(SchedulerConfig(**fields, end_lr_factor=0.5 * (1 + 9e-7)))(10) == 1.0
    message = refusal(**fields, end_lr_factor=0.5 * (1 + 2e-6))
    assert message.startswith("end_lr=1.0 and end_lr_factor=0.500001 disagree: end_lr_factor * lr")
    assert message.endswith("; set only one of them")


@pytest.mark.parametrize(
    ("lr", "end_lr", "message"),
    [
        (
            1e-30,
            1e10,
            "lr=1e-30 to an end value of 10000000000.0 is invalid: exponential decay needs "
            f"a ratio end / lr that float32 holds (from {FLOAT32_TINY} to {FLOAT32_MAX})",
        ),
        (1e30, 1e-10, "lr=1e+30 to an end value of 1e-10 is invalid"),
    ],
)
def test_an_exponential_ratio_a_float_cannot_hold_is_refused(lr, end_lr, message):
    assert refusal(lr=lr, name="exponential", decay_steps=10, end_lr=end_lr).startswith(message)


def test_an_exponential_ratio_a_float_holds_is_accepted():
    fields = dict(lr=1e-20, name="exponential", decay_steps=10, end_lr=1e16)
    schedule = build_lr_scheduler(SchedulerConfig(**fields))
    assert schedule(5) == pytest.approx(1e-2, rel=1e-12)  # the geometric mean


def test_exponential_decay_to_zero_names_both_end_fields():
    assert refusal(lr=1.0, name="exponential", decay_steps=10, end_lr_factor=0.0) == (
        "end_lr=None, end_lr_factor=0.0 is invalid: exponential decay needs an end value > 0; "
        "set end_lr or end_lr_factor"
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "abc",
            "lr='abc' is invalid: expected a number > 0 that float32 holds "
            f"(from {FLOAT32_TINY} to {FLOAT32_MAX})",
        ),
        (
            None,
            "lr=None is invalid: expected a number > 0 that float32 holds "
            f"(from {FLOAT32_TINY} to {FLOAT32_MAX})",
        ),
    ],
)
def test_values_that_are_not_numbers_are_refused_with_no_more_than_what_is_valid(value, message):
    assert refusal(lr=value) == message


def test_a_value_is_shown_whole_up_to_60_characters():
    assert refusal(lr=1.0, name="x" * 58).startswith(f"name='{'x' * 58}' is invalid")  # 60
    assert refusal(lr=1.0, name="x" * 59).startswith(
        f"name='{'x' * 44}... (61 characters) is invalid"
    )
