"""Invalid configs raise ScheduleConfigError naming the field, the value and what is valid.

One test per row of the spec's "deliberate differences" table, then wrong types from Python.
"""

from __future__ import annotations

import math

import pytest
from omegaconf import OmegaConf

from hydra_optax_schedules import (
    OPTION_CLASSES,
    ScheduleConfigError,
    SchedulerConfig,
    build_lr_scheduler,
    build_schedule,
)


def build(**fields):
    return build_lr_scheduler(SchedulerConfig(**fields))


def test_the_error_is_a_value_error():
    assert issubclass(ScheduleConfigError, ValueError)


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(
        ScheduleConfigError, match=r"name='cosin' is invalid.*'cosine'.*'exponential_decay'"
    ):
        build(lr=1.0, name="cosin", decay_steps=10)


def test_warmup_plus_cooldown_longer_than_the_run_names_all_three():
    with pytest.raises(ScheduleConfigError) as error:
        build(lr=1.0, name="cosine", decay_steps=10, warmup_steps=6, cooldown_steps=5)
    message = str(error.value)
    for part in ("warmup_steps=6", "cooldown_steps=5", "decay_steps=10"):
        assert part in message


@pytest.mark.parametrize("name", ["linear", "cosine", "exponential"])
def test_unset_decay_steps_says_how_to_set_it(name):
    with pytest.raises(
        ScheduleConfigError, match=r"decay_steps=None.*pass run_steps=\.\.\. to instantiate"
    ):
        build(lr=1.0, name=name, decay_steps=None, end_lr=0.1)


def test_a_constant_cooldown_needs_decay_steps():
    with pytest.raises(ScheduleConfigError, match=r"decay_steps=None.*a cooldown"):
        build(lr=1.0, decay_steps=None, cooldown_steps=5)


def test_nearly_equal_end_values_are_accepted_distinct_ones_are_not():
    assert 3e-4 / 3e-3 != 0.1
    build(lr=3e-3, name="linear", decay_steps=10, end_lr=3e-4, end_lr_factor=0.1)
    with pytest.raises(ScheduleConfigError, match=r"end_lr=0\.0003.*end_lr_factor=0\.2.*disagree"):
        build(lr=3e-3, name="linear", decay_steps=10, end_lr=3e-4, end_lr_factor=0.2)


@pytest.mark.parametrize("end", [{}, {"end_lr": 0.0}, {"end_lr_factor": 0.0}])
def test_exponential_decay_to_zero_is_an_error_not_a_constant(end):
    with pytest.raises(ScheduleConfigError, match="exponential decay needs an end value > 0"):
        build(lr=1.0, name="exponential", decay_steps=10, **end)


@pytest.mark.parametrize("name", ["linear", "cosine", "cosine_decay", "exponential_decay"])
def test_a_decaying_schedule_needs_a_main_phase(name):
    with pytest.raises(
        ScheduleConfigError, match=r"= 0 is invalid.*main phase of at least one step"
    ):
        build(lr=1.0, name=name, decay_steps=10, warmup_steps=4, cooldown_steps=6, end_lr=0.1)


def test_a_constant_schedule_may_have_no_main_phase():
    schedule = build(lr=1.0, decay_steps=10, warmup_steps=4, cooldown_steps=6)
    assert [schedule(s) for s in (2, 4, 7, 10)] == [0.5, 1.0, 0.5, 0.0]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("lr", 0.0),
        ("lr", -1e-3),
        ("lr", math.nan),
        ("lr", math.inf),
        ("end_lr", -0.1),
        ("end_lr", math.nan),
        ("end_lr_factor", -0.5),
        ("end_lr_factor", math.inf),
        ("cooldown_lr", -1e-5),
        ("cooldown_lr", math.nan),
        ("warmup_steps", -1),
        ("cooldown_steps", -3),
        ("decay_steps", -10),
    ],
)
def test_negative_nan_or_infinite_numbers_name_the_field(field, value):
    fields = dict(lr=1.0, name="linear", decay_steps=100)
    fields[field] = value
    with pytest.raises(ScheduleConfigError, match=rf"^{field}={value!r} is invalid") as error:
        build(**fields)
    assert error.value.field == field


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("lr", True),
        ("lr", "3e-4"),
        ("end_lr", False),
        ("end_lr_factor", "0.1"),
        ("cooldown_lr", None),
        ("warmup_steps", 10.0),
        ("warmup_steps", True),
        ("cooldown_steps", 2.5),
        ("decay_steps", 1000.0),
        ("decay_steps", "1000"),
        ("name", 3),
    ],
)
def test_booleans_strings_and_floats_where_they_do_not_belong(field, value):
    fields = dict(lr=1.0, name="linear", decay_steps=100)
    fields[field] = value
    with pytest.raises(ScheduleConfigError, match=rf"^{field}={value!r} is invalid"):
        build(**fields)


def test_errors_from_a_dictconfig_name_the_full_key():
    cfg = OmegaConf.create({"scheduler": {"lr": 1.0, "name": "cosine", "decay_steps": None}})
    with pytest.raises(ScheduleConfigError, match=r"^scheduler\.decay_steps=None is invalid"):
        build_lr_scheduler(cfg.scheduler)
    typed = OmegaConf.create(
        {"scheduler": OmegaConf.structured(OPTION_CLASSES["linear"](name="linear"))}
    )
    with pytest.raises(ScheduleConfigError, match=r"scheduler\.lr is missing"):
        build_lr_scheduler(typed.scheduler)


def test_unknown_or_missing_fields_in_a_mapping():
    with pytest.raises(ScheduleConfigError, match="warmup is not a scheduler field"):
        build_lr_scheduler({"lr": 1.0, "warmup": 3})
    with pytest.raises(ScheduleConfigError, match="lr is missing"):
        build_lr_scheduler({"name": "constant"})
    with pytest.raises(ScheduleConfigError, match="not a scheduler field"):
        build_schedule(lr=1.0, powr=2.0)


def test_the_error_survives_pickling_with_its_field():
    import pickle

    with pytest.raises(ScheduleConfigError) as error:
        build(lr=-1.0)
    copy = pickle.loads(pickle.dumps(error.value))
    assert (str(copy), copy.field) == (str(error.value), "lr")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"cooldown_steps": 5, "cooldown_fraction": 0.2},
            r"cooldown_steps=5 and cooldown_fraction=0\.2 are both set",
        ),
        (
            {"warmup_steps": 5, "warmup_fraction": 0.2},
            r"warmup_steps=5 and warmup_fraction=0\.2 are both set",
        ),
        (
            {"warmup_fraction": 0.6, "cooldown_fraction": 0.5},
            r"warmup_fraction=0\.6 \+ cooldown_fraction=0\.5 > 1",
        ),
        (
            {"warmup_fraction": 1.5},
            r"warmup_fraction=1\.5 is invalid: expected a number in \[0, 1\]",
        ),
        ({"cooldown_fraction": -0.1}, r"cooldown_fraction=-0\.1 is invalid"),
        ({"cooldown_fraction": math.nan}, r"cooldown_fraction=nan is invalid"),
        (
            {"warmup_shape": "sqrt"},
            r"warmup_shape='sqrt' is invalid: expected one of 'linear', 'cosine'",
        ),
        (
            {"cooldown_shape": "1-sqrt"},
            r"cooldown_shape='1-sqrt' is invalid: expected one of 'linear', 'cosine', 'sqrt'",
        ),
        (
            {"name": "polynomial", "power": 0.0},
            r"power=0\.0 is invalid: expected a finite number > 0",
        ),
        ({"name": "polynomial", "power": -2.0}, r"power=-2\.0 is invalid"),
        (
            {"name": "inverse_sqrt", "timescale": 0},
            r"timescale=0 is invalid: expected a finite number > 0",
        ),
        ({"name": "inverse_sqrt", "timescale": math.inf}, r"timescale=inf is invalid"),
        ({"warmup_start_lr": -1e-4}, r"warmup_start_lr=-0\.0001 is invalid"),
        (
            {"name": "wsd", "cooldown_fraction": 0.0},
            r"a wsd schedule needs a decay phase, and cooldown_fraction=0\.0 gives no decay phase",
        ),
        (
            {"name": "polynomial", "warmup_fraction": 0.5, "cooldown_fraction": 0.5},
            r"= 0 is invalid.*main phase",
        ),
    ],
)
def test_invalid_additions_name_their_fields(fields, message):
    with pytest.raises(ScheduleConfigError, match=message):
        build(**{"lr": 1.0, "name": "cosine", "decay_steps": 100, **fields})


def test_fractions_need_the_run_length():
    with pytest.raises(
        ScheduleConfigError, match=r"decay_steps=None is invalid: warmup_fraction=0\.1 needs"
    ):
        build(lr=1.0, decay_steps=None, warmup_fraction=0.1)


# --- Each error names its field in ``error.field`` and says exactly what is valid ------------


def refusal(**fields):
    with pytest.raises(ScheduleConfigError) as error:
        build(**fields)
    return str(error.value), error.value.field


@pytest.mark.parametrize("name", ["cosine", "polynomial"])
def test_a_decaying_family_without_the_run_length_says_the_family_needs_it(name):
    assert refusal(lr=1.0, name=name, decay_steps=None) == (
        f"decay_steps=None is invalid: the {name} schedule needs the run length; set "
        "decay_steps or pass run_steps=... to instantiate() / build_schedule()",
        "decay_steps",
    )


@pytest.mark.parametrize(
    ("name", "what"), [("constant", "a cooldown"), ("cosine", "the cosine schedule")]
)
@pytest.mark.parametrize("cooldown_start", [None, 50])
def test_a_cooldown_without_the_run_length_names_what_needs_it(name, what, cooldown_start):
    """A constant schedule needs the run length for a cooldown at its end (not for one
    branched off a step); a cosine schedule needs it in any case."""
    fields = dict(lr=1.0, name=name, decay_steps=None, cooldown_steps=1)
    if cooldown_start is None or name == "cosine":
        message, field = refusal(**fields, cooldown_start=cooldown_start)
        assert message.startswith(f"decay_steps=None is invalid: {what} needs the run length")
        assert field == "decay_steps"
    else:
        build_lr_scheduler(SchedulerConfig(**fields, cooldown_start=cooldown_start))


@pytest.mark.parametrize("cooldown_start", [None, 50])
def test_wsd_without_the_run_length_names_its_default_cooldown_not_a_field(cooldown_start):
    assert refusal(lr=1.0, name="wsd", decay_steps=None, cooldown_start=cooldown_start) == (
        "decay_steps=None is invalid: the wsd schedule, whose default cooldown is 0.2 of the "
        "run, needs the run length; set decay_steps or pass run_steps=... to instantiate() / "
        "build_schedule()",
        "decay_steps",
    )


def test_a_branched_cooldown_whose_fraction_rounds_to_no_step_names_the_fraction():
    fields = dict(name="cosine", decay_steps=10, cooldown_fraction=0.01, cooldown_start=5)
    assert refusal(lr=1.0, **fields) == (
        "cooldown_start=5 with cooldown_fraction=0.01 is invalid: that fraction of "
        "decay_steps=10 rounds to a cooldown of 0 steps, and a branched cooldown needs at least 1",
        "cooldown_fraction",
    )


@pytest.mark.parametrize(
    ("cooldown_start", "length", "span"),
    [
        (None, 90, "decay_steps - warmup_steps - cooldown_steps"),
        (50, 100, "decay_steps - warmup_steps: the cooldown branches off at cooldown_start"),
    ],
)
def test_stages_that_do_not_cover_the_main_phase_say_how_long_it_is(cooldown_start, length, span):
    fields = dict(name="stages", decay_steps=100, cooldown_steps=10, cooldown_start=cooldown_start)
    assert refusal(lr=1.0, stages=[{"steps": 80}], **fields) == (
        f"stages cover 80 steps, but the main phase has {length} ({span}): the stages must "
        "cover it exactly",
        "stages",
    )


def test_end_lr_and_end_lr_factor_that_disagree_name_end_lr_and_the_product():
    assert refusal(lr=2.0, name="cosine", decay_steps=10, end_lr=0.5, end_lr_factor=0.5) == (
        "end_lr=0.5 and end_lr_factor=0.5 disagree: end_lr_factor * lr = 1.0; set only one of them",
        "end_lr",
    )


def test_an_end_factor_past_float32_names_end_lr_factor():
    _, field = refusal(lr=1e38, name="cosine", decay_steps=10, end_lr_factor=10.0)
    assert field == "end_lr_factor"
    largest = 3.4028234663852886e38
    assert build(lr=largest, name="cosine", decay_steps=10, end_lr_factor=1.0)(10) == largest


@pytest.mark.parametrize("end", [{"end_lr": 0.0}, {"end_lr_factor": 0.0}, {"end_lr": 1e-300}])
def test_exponential_end_values_it_cannot_reach_name_end_lr(end):
    _, field = refusal(lr=1e30, name="exponential", decay_steps=10, **end)
    assert field == "end_lr"


def test_end_values_are_not_checked_for_families_that_ignore_them():
    with pytest.warns(UserWarning, match="no effect on this constant schedule"):
        schedule = build(lr=1e38, decay_steps=10, end_lr=0.5, end_lr_factor=10.0)
    assert schedule(5) == 1e38


def test_a_cooldown_fraction_past_one_is_refused_before_the_lengths_are_computed():
    assert refusal(lr=1.0, decay_steps=10, cooldown_fraction=1.5) == (
        "cooldown_fraction=1.5 is invalid: expected a number in [0, 1]",
        "cooldown_fraction",
    )
