"""Every way a config reaches the builder, and what each says when the config is wrong.

``build_lr_scheduler`` takes a ``SchedulerConfig``, a ``DictConfig`` (resolved, its fields
named by their full key) or a mapping; ``build_schedule`` takes the fields as keywords;
``Schedule(config)`` builds directly. Anything else is a ``TypeError``.
"""

from __future__ import annotations

import enum

import pytest
from omegaconf import OmegaConf

from hydra_optax_schedules import (
    IgnoredFieldWarning,
    Schedule,
    ScheduleConfigError,
    SchedulerConfig,
    build_lr_scheduler,
    build_schedule,
)

from support.entry_paths import PATHS

FIELDS = (
    "lr, name, decay_steps, end_lr, end_lr_factor, cooldown_steps, warmup_steps, cooldown_lr, "
    "warmup_start_lr, warmup_shape, warmup_fraction, cooldown_shape, cooldown_fraction, power, "
    "timescale, cooldown_start, cycles, cycle_mult, cycle_decay, rewarmup_steps, "
    "rewarmup_fraction, milestones, milestone_fractions, decay_factor, stages, shape_params, "
    "cooldown_start_fraction, units"
)
WARMUP_GUESS = "did you mean warmup_steps, warmup_shape, warmup_start_lr or warmup_fraction?"


@pytest.mark.parametrize(("config", "kind"), [([1.0], "list"), (SchedulerConfig, "type")])
def test_other_objects_are_a_type_error_naming_their_type(config, kind):
    with pytest.raises(TypeError) as error:
        build_lr_scheduler(config)
    assert str(error.value) == (
        f"build_lr_scheduler expects a SchedulerConfig, a DictConfig or a mapping, got {kind}"
    )


def test_an_unknown_key_is_refused_with_the_valid_fields():
    with pytest.raises(ScheduleConfigError) as error:
        build_lr_scheduler({"lr": 1.0, "warmup": 3})
    assert str(error.value) == (
        f"warmup is not a scheduler field; {WARMUP_GUESS} valid fields: {FIELDS}"
    )
    assert error.value.field == "warmup"
    with pytest.raises(
        ScheduleConfigError, match=r"^powr is not a scheduler field; did you mean power\?"
    ):
        build_schedule(lr=1.0, powr=2.0)


@pytest.mark.parametrize(
    ("key", "guess"),
    [
        ("lrr", "lr"),
        ("min_lr", "end_lr"),
        ("learning_rate", "lr"),
        ("total_steps", "decay_steps"),
        ("cycle", "cycles, cycle_mult or cycle_decay"),
        ("milestone", "milestones or milestone_fractions"),
        ("cooldown_start_frac", "cooldown_start_fraction or cooldown_start"),
    ],
)
def test_an_unknown_key_suggests_the_fields_it_may_mean(key, guess):
    with pytest.raises(ScheduleConfigError) as error:
        build_lr_scheduler({"lr": 1.0, key: 3})
    assert str(error.value).startswith(f"{key} is not a scheduler field; did you mean {guess}? ")


def test_a_key_like_no_field_suggests_nothing():
    with pytest.raises(ScheduleConfigError) as error:
        build_lr_scheduler({"lr": 1.0, "xyz": 3})
    assert str(error.value) == f"xyz is not a scheduler field; valid fields: {FIELDS}"


def test_a_mapping_without_lr_is_refused_naming_lr():
    with pytest.raises(ScheduleConfigError) as error:
        build_lr_scheduler({"name": "constant", "_target_": "x", "_partial_": True})
    assert str(error.value) == "lr is missing: the peak learning rate is required"
    assert error.value.field == "lr"


def test_a_root_dictconfig_names_fields_without_a_prefix():
    with pytest.raises(ScheduleConfigError) as error:
        build_lr_scheduler(OmegaConf.create({"lr": -1.0}))
    assert str(error.value).startswith("lr=-1.0 is invalid: expected a number > 0")


def test_a_nested_dictconfig_names_fields_by_their_full_key():
    cfg = OmegaConf.create({"optim": {"scheduler": {"lr": 1.0, "warmup_steps": -2}}})
    with pytest.raises(ScheduleConfigError) as error:
        build_lr_scheduler(cfg.optim.scheduler)
    assert str(error.value).startswith("optim.scheduler.warmup_steps=-2 is invalid")
    assert error.value.field == "warmup_steps"


def test_a_missing_value_names_the_field_by_its_full_key():
    cfg = OmegaConf.create({"scheduler": {"lr": "???", "name": "cosine"}})
    with pytest.raises(ScheduleConfigError) as error:
        build_lr_scheduler(cfg.scheduler)
    assert str(error.value) == "scheduler.lr is missing (???): set it, e.g. scheduler.lr=..."
    assert error.value.field == "lr"


def test_interpolations_are_resolved_against_the_whole_config():
    cfg = OmegaConf.create(
        {
            "trainer": {"steps": 100},
            "scheduler": {"lr": 1.0, "name": "linear", "decay_steps": "${trainer.steps}"},
        }
    )
    schedule = build_lr_scheduler(cfg.scheduler)
    assert schedule.config.decay_steps == 100
    assert schedule(50) == 0.5


def test_a_schedule_built_directly_names_fields_without_a_prefix():
    with pytest.raises(ScheduleConfigError) as error:
        Schedule(SchedulerConfig(lr=-1.0))
    assert str(error.value).startswith("lr=-1.0 is invalid")
    with pytest.warns(IgnoredFieldWarning) as caught:
        Schedule(SchedulerConfig(lr=1.0, end_lr=0.5))
    assert str(caught[0].message).startswith("end_lr=0.5 has no effect on this constant schedule")


class Steps(enum.IntEnum):
    SHORT = 10


def test_any_integral_number_is_a_step_count():
    schedule = build_lr_scheduler(SchedulerConfig(lr=1.0, name="linear", decay_steps=Steps.SHORT))
    assert schedule.config.decay_steps == 10 and type(schedule.config.decay_steps) is int
    assert schedule(5) == 0.5


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"lr": 1.0, "warmup": 3},
            f"warmup is not a scheduler field; {WARMUP_GUESS} valid fields: {FIELDS}",
        ),
        ({"name": "constant"}, "lr is missing: the peak learning rate is required"),
        (
            {"lr": 1.0, "name": "stages", "stages": [{"stpes": 3}]},
            "stages[0].stpes is not a stage field; did you mean steps? valid fields: steps, "
            "fraction, shape, start, "
            "end, power, shape_params",
        ),
    ],
)
def test_one_rule_reads_the_same_on_every_entry_path(fields, message):
    """An unknown key, a stage's unknown key and a missing lr: one message, whichever way the
    config arrives (the rule is written once, in config/coerce.py)."""
    for path in PATHS.values():
        if path.name == "SchedulerConfig":
            continue  # the dataclass takes only its fields: Python's TypeError comes first
        if path.fills_defaults:
            continue  # a composed option or a saved config has every field (lr is ??? there)
        with pytest.raises(ScheduleConfigError) as error:
            path.build(fields)
        want = f"scheduler.{message}" if path.full_key else message
        assert str(error.value) == want, path.name
