"""What 0.2.0 saved still loads, and gives the schedule it gave then.

``data/v0_2_0.json`` was written by hydra-optax-schedules 0.2.0 (commit c983527): pickles of
schedules, configs (with stages), a Hydra option and an error, each config's ``to_dict()``,
and the schedules' values at a few steps. The layout changed since (the config is a package,
the options live in ``hydra_options``); the names those pickles hold must still resolve.
"""

from __future__ import annotations

import base64
import json
import math
import pickle
from pathlib import Path

import pytest

from hydra_optax_schedules import (
    Schedule,
    ScheduleConfigError,
    SchedulerConfig,
    SchedulerOption,
    build_lr_scheduler,
    load_schedule,
)

SAVED = json.loads((Path(__file__).parent / "data" / "v0_2_0.json").read_text())
STEPS = (0, 10, 25, 49, 50, 100, 299, 333, 700, 999, 1000, 5000)
CASES = ("cosine", "stages", "inverse_sqrt")


def unpickle(text: str) -> object:
    return pickle.loads(base64.b64decode(text))


def assert_values(schedule: Schedule, expected: list[float]) -> None:
    for step, value in zip(STEPS, expected, strict=True):
        assert math.isclose(schedule(step), value, rel_tol=1e-12, abs_tol=1e-18), step


@pytest.mark.parametrize("case", CASES)
def test_a_pickled_schedule_of_0_2_0_loads_with_its_values(case):
    schedule = unpickle(SAVED[case]["schedule_pickle"])
    assert isinstance(schedule, Schedule)
    assert_values(schedule, SAVED[case]["values"])


@pytest.mark.parametrize("case", CASES)
def test_a_pickled_config_of_0_2_0_builds_the_same_schedule(case):
    config = unpickle(SAVED[case]["config_pickle"])
    assert isinstance(config, SchedulerConfig)
    assert config.shape_params is None  # a field 0.2.0 did not have: its default
    assert_values(build_lr_scheduler(config), SAVED[case]["values"])


@pytest.mark.parametrize("case", CASES)
def test_to_dict_of_0_2_0_loads_on_every_path(case):
    data = SAVED[case]["to_dict"]
    expected = SAVED[case]["values"]
    assert_values(build_lr_scheduler(data), expected)
    assert_values(load_schedule(data), expected)
    assert_values(build_lr_scheduler(SchedulerConfig.from_dict(SchedulerConfig, data)), expected)


def test_a_pickled_hydra_option_of_0_2_0_loads():
    option = unpickle(SAVED["option_pickle"])
    assert isinstance(option, SchedulerOption)
    assert type(option).__name__ == "CosineOption"
    assert build_lr_scheduler(option)(100) == 0.0


def test_a_pickled_error_of_0_2_0_keeps_its_field():
    error = unpickle(SAVED["error_pickle"])
    assert isinstance(error, ScheduleConfigError)
    assert (str(error), error.field) == ("x is bad", "x")


def test_the_names_of_0_2_0s_config_module_still_resolve():
    from hydra_optax_schedules import config

    assert config.WARMUP_SHAPES == ("linear", "cosine")
    assert config.COOLDOWN_SHAPES == ("linear", "cosine", "sqrt")
    assert config.STAGE_SHAPES == (
        "constant",
        "linear",
        "cosine",
        "sqrt",
        "exponential",
        "polynomial",
    )
    assert config.DECAYING == ("linear", "cosine", "exponential", "polynomial")
    assert config.CosineOption.__name__ == "CosineOption"
    assert config.option_node("cosine_decay").name == "cosine_decay"
    assert config.BUILDER_TARGET == "hydra_optax_schedules.build_schedule"
    with pytest.raises(AttributeError, match="has no attribute 'NOPE'"):
        config.NOPE  # noqa: B018


def test_scheduler_config_stays_a_structured_config_for_omegaconf_2_3():
    # A user's ConfigStore node (xlstm-jax stores its dataclasses): OmegaConf 2.3 types no
    # Union, so a field that takes an int or "resume" is Any, checked when the schedule is built.
    from omegaconf import OmegaConf

    schema = OmegaConf.structured(SchedulerConfig)
    assert schema.cooldown_start is None
    fields = {"lr": 1.0, "name": "linear", "decay_steps": 100, "cooldown_steps": 10}
    node = OmegaConf.merge(schema, fields | {"cooldown_start": 40})
    branched = build_lr_scheduler(SchedulerConfig(**fields, cooldown_start=40))
    assert [build_lr_scheduler(node)(s) for s in (39, 45)] == [branched(39), branched(45)]
    node = OmegaConf.merge(schema, fields | {"cooldown_start": "resume"})
    assert build_lr_scheduler(node, resume_step=40)(45) == branched(45)
    with pytest.raises(ScheduleConfigError, match="cooldown_start"):
        build_lr_scheduler(OmegaConf.merge(schema, fields | {"cooldown_start": "later"}))
