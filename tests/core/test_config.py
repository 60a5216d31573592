"""The seed's SchedulerConfig API: fields, defaults, get, to_dict, and from_dict without imports."""

from __future__ import annotations

import dataclasses
import json
import sys

import pytest
from omegaconf import OmegaConf

from hydra_optax_schedules import (
    OPTION_CLASSES,
    ScheduleConfigError,
    SchedulerConfig,
    SchedulerOption,
    build_lr_scheduler,
)

SEED_FIELDS = {
    "lr": dataclasses.MISSING,
    "name": "constant",
    "decay_steps": 0,
    "end_lr": None,
    "end_lr_factor": None,
    "cooldown_steps": 0,
    "warmup_steps": 0,
    "cooldown_lr": 0.0,
}


ADDED_FIELDS = {
    "warmup_start_lr": 0.0,
    "warmup_shape": "linear",
    "warmup_fraction": None,
    "cooldown_shape": None,  # the family's: linear, sqrt for wsd
    "cooldown_fraction": None,
    "power": 2.0,
    "timescale": 10000.0,
    # composable schedules (issue 11)
    "cooldown_start": None,
    "cycles": 1,
    "cycle_mult": 1.0,
    "cycle_decay": 1.0,
    "rewarmup_steps": 0,
    "rewarmup_fraction": None,
    "milestones": None,
    "milestone_fractions": None,
    "decay_factor": 0.1,
    "stages": None,
    "shape_params": None,
    "cooldown_start_fraction": None,
    # units and batch-size ramps (issue 20): None counts steps
    "units": None,
}


def test_fields_and_defaults_are_the_seeds_then_the_additions():
    fields = [(f.name, f.default) for f in dataclasses.fields(SchedulerConfig)]
    assert fields == [*SEED_FIELDS.items(), *ADDED_FIELDS.items()]
    with pytest.raises(TypeError):
        SchedulerConfig()  # lr is required


def test_get_and_to_dict():
    config = SchedulerConfig(lr=0.1, name="cosine", decay_steps=10)
    assert config.get("name") == "cosine"
    assert config.get("nope") is None
    assert config.get("nope", 5) == 5
    expected = {**SEED_FIELDS, **ADDED_FIELDS, "lr": 0.1, "name": "cosine", "decay_steps": 10}
    assert config.to_dict() == expected


def test_from_dict_round_trips_through_json():
    config = SchedulerConfig(
        lr=3e-4, name="linear", decay_steps=100, end_lr_factor=0.1, warmup_steps=5
    )
    data = json.loads(json.dumps(config.to_dict()))
    assert SchedulerConfig.from_dict(SchedulerConfig, data) == config


def test_from_dict_reads_a_saved_repr_without_resolving_the_class():
    config = SchedulerConfig(lr=3e-4, name="cosine", decay_steps=100)
    assert SchedulerConfig.from_dict(SchedulerConfig, repr(config)) == config
    assert SchedulerConfig.from_dict(SchedulerConfig, "Other(lr=1.0)") == SchedulerConfig(lr=1.0)
    with pytest.raises(ScheduleConfigError, match="names class 'Other'"):
        SchedulerConfig.from_dict(SchedulerConfig, "Other(lr=1.0)", strict_classname_parsing=True)
    with pytest.raises(ScheduleConfigError, match="only literal values"):
        SchedulerConfig.from_dict(SchedulerConfig, "SchedulerConfig(lr=__import__('os').getpid())")


def test_from_dict_extra_keys_are_ignored_or_refused():
    data = {"lr": 1.0, "_target_": "os.system", "optimizer": "adamw"}
    assert SchedulerConfig.from_dict(SchedulerConfig, data) == SchedulerConfig(lr=1.0)
    with pytest.raises(ScheduleConfigError, match=r"^_target_ is not a scheduler field"):
        SchedulerConfig.from_dict(SchedulerConfig, data, ignore_extensive_attributes=False)


def test_from_dict_none_to_zero_for_ints():
    data = {"lr": 1.0, "decay_steps": None, "warmup_steps": None}
    with pytest.raises(ScheduleConfigError, match="warmup_steps=None"):
        SchedulerConfig.from_dict(SchedulerConfig, data)
    config = SchedulerConfig.from_dict(SchedulerConfig, data, none_to_zero_for_ints=True)
    assert (config.decay_steps, config.warmup_steps) == (0, 0)


@pytest.mark.parametrize(
    "config",
    [
        SchedulerConfig(lr=1.0, name="cosine", decay_steps=1000, cooldown_steps=100),
        SchedulerConfig(
            lr=1.0,
            name="stages",
            decay_steps=1000,
            stages=[
                {"steps": 10, "shape": "linear", "start": 0.0},
                {"shape": "cosine", "end": 0.1},
            ],
        ),
    ],
    ids=["no-branched-cooldown", "a-stage-takes-the-rest"],
)
def test_none_to_zero_for_ints_keeps_a_none_that_has_a_meaning_of_its_own(config):
    """cooldown_start=None (no branch) and a stage's steps=None (the rest) stay None: as 0
    they would be a cooldown from step 0 and an invalid stage."""
    read = SchedulerConfig.from_dict(SchedulerConfig, config.to_dict(), none_to_zero_for_ints=True)
    assert build_lr_scheduler(read) == build_lr_scheduler(config)


def test_from_dict_converts_strings_like_the_original_but_never_imports():
    data = {"lr": "3e-4", "decay_steps": "100", "end_lr": "None", "name": "cosine"}
    config = SchedulerConfig.from_dict(SchedulerConfig, data)
    assert config == SchedulerConfig(lr=3e-4, decay_steps=100, end_lr=None, name="cosine")
    before = set(sys.modules)
    for hostile in ("<class 'antigravity.Fly'>", "antigravity.fly", "subprocess.Popen"):
        with pytest.raises(ScheduleConfigError):
            SchedulerConfig.from_dict(SchedulerConfig, {"lr": hostile})
        config = SchedulerConfig.from_dict(SchedulerConfig, {"lr": 1.0, "name": hostile})
        assert config.name == hostile  # kept as a plain string; build would reject it
    assert set(sys.modules) == before


def test_from_dict_rejects_wrong_types():
    with pytest.raises(ScheduleConfigError, match=r"warmup_steps=2\.5 is invalid: expected int"):
        SchedulerConfig.from_dict(SchedulerConfig, {"lr": 1.0, "warmup_steps": 2.5})
    with pytest.raises(ScheduleConfigError, match="lr=True is invalid"):
        SchedulerConfig.from_dict(SchedulerConfig, {"lr": True})
    with pytest.raises(
        ScheduleConfigError, match=r"^lr is missing: the peak learning rate is required"
    ):
        SchedulerConfig.from_dict(SchedulerConfig, {"name": "cosine"})
    with pytest.raises(ScheduleConfigError, match="expected a mapping"):
        SchedulerConfig.from_dict(SchedulerConfig, 3.0)


def test_hydra_option_defaults():
    node = OmegaConf.structured(OPTION_CLASSES["cosine"](name="cosine"))
    assert OmegaConf.is_missing(node, "lr")
    assert node.decay_steps is None
    assert (node.end_lr, node.end_lr_factor, node.warmup_steps, node.cooldown_steps) == (
        None,
        None,
        0,
        0,
    )
    assert node._target_ == "hydra_optax_schedules.build_schedule"
    node.lr = 0.1
    node.decay_steps = 10
    config = OmegaConf.to_object(node)
    assert isinstance(config, SchedulerOption)
    assert build_lr_scheduler(config)(5) == pytest.approx(0.05)


@pytest.mark.parametrize("family", sorted(OPTION_CLASSES))
def test_options_have_every_field_of_the_seed_so_a_sweep_across_families_composes(family):
    """Every option has every field, in order (``scheduler.power=3`` composes on ``cosine``
    and warns there), at the seed's defaults but for the option's own."""
    option = {f.name: f.default for f in dataclasses.fields(OPTION_CLASSES[family])}
    config = {f.name: f.default for f in dataclasses.fields(SchedulerConfig)}
    assert list(option) == [*config, "_target_", "_partial_"]
    assert option["_target_"] == "hydra_optax_schedules.build_schedule"
    assert option["name"] == family
    # The stages of the stages option are mandatory (???): it has no default stages.
    assert option["stages"] == ("???" if family == "stages" else None)
    assert option["cooldown_shape"] == ("sqrt" if family == "wsd" else "linear")
    # units: a typed node at its defaults (counted in steps), which means what None means.
    expected_changes = {"lr", "decay_steps", "name", "cooldown_shape", "stages", "shape_params"}
    expected_changes |= {"units"}
    for name, default in option.items():
        if name in config and name not in expected_changes:
            assert default == config[name], name


def test_from_dict_names_a_missing_field_of_any_dataclass_and_its_valid_keys():
    @dataclasses.dataclass
    class Trainer:
        steps: int
        lr: float = 0.1

    with pytest.raises(ScheduleConfigError) as error:
        SchedulerConfig.from_dict(Trainer, {"lr": 0.2})
    assert (str(error.value), error.value.field) == (
        "steps is missing: the field has no default",
        "steps",
    )
    with pytest.raises(ScheduleConfigError) as error:
        SchedulerConfig.from_dict(Trainer, {"steps": 3, "x": 1}, ignore_extensive_attributes=False)
    assert str(error.value) == "x is not a config field; valid fields: steps, lr"
    assert SchedulerConfig.from_dict(Trainer, {"steps": "3"}) == Trainer(steps=3)


def test_a_key_that_is_not_a_string_is_named_as_it_was_given():
    with pytest.raises(ScheduleConfigError) as error:
        SchedulerConfig.from_dict(
            SchedulerConfig, {"lr": 1.0, 7: 2}, ignore_extensive_attributes=False
        )
    assert str(error.value).startswith("7 is not a scheduler field; valid fields: lr, name, ")
    assert error.value.field == "7"
