"""The optimizer's config without JAX: every invalid field and group is an error naming it
(the value, what is valid), a field without effect an IgnoredFieldWarning, and the seed's
get/to_dict/from_dict."""

from __future__ import annotations

import ast
import dataclasses
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from hydra_optax_schedules import (
    IgnoredFieldWarning,
    OptimizerConfig,
    ParamGroupConfig,
    PlateauConfig,
    ScheduleConfigError,
    SchedulerConfig,
)
from hydra_optax_schedules.optimizer.check import checked
from hydra_optax_schedules.optimizer.config import OPTIMIZER_FIELDS

BASE = {"name": "adamw", "scheduler": {"lr": 1e-3}}


def error(**fields):
    with pytest.raises(ScheduleConfigError) as raised:
        checked({**BASE, **fields})
    return raised.value


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": "adamm"}, "name", "name='adamm' is invalid: expected one of adam, adamw, sgd"),
        ({"beta1": 1.0}, "beta1", "beta1=1.0 is invalid: expected a finite number in [0, 1)"),
        ({"beta2": -0.1}, "beta2", "beta2=-0.1 is invalid: expected a finite number in [0, 1)"),
        ({"eps": 0}, "eps", "eps=0 is invalid: expected a finite number > 0"),
        ({"weight_decay": -1}, "weight_decay", "weight_decay=-1 is invalid"),
        ({"weight_decay": float("nan")}, "weight_decay", "weight_decay=nan is invalid"),
        ({"weight_decay": "0.1"}, "weight_decay", "not a string"),
        ({"weight_decay": True}, "weight_decay", "weight_decay=True is invalid"),
        ({"grad_clip_norm": 0.0}, "grad_clip_norm", "expected a finite number > 0 (or null)"),
        ({"grad_clip_value": float("inf")}, "grad_clip_value", "grad_clip_value=inf"),
        ({"nesterov": "yes"}, "nesterov", "nesterov='yes' is invalid: expected true or false"),
        (
            {"weight_decay_exclude": ["(bias"]},
            "weight_decay_exclude[0]",
            "weight_decay_exclude[0]='(bias' is invalid: not a regular expression",
        ),
        ({"weight_decay_include": []}, "weight_decay_include", "a non-empty list"),
        (
            {"weight_decay_exclude": ["a"], "weight_decay_include": ["b"]},
            "weight_decay_include",
            "are both set: set only one of them",
        ),
        (
            {"grad_clip_norm": 1.0, "use_sharded_clip_norm": False},
            "use_sharded_clip_norm",
            "use_sharded_clip_norm=False is invalid: the norm is always over whole parameters",
        ),
        ({"layer_decay": 0.5}, "layer_index", "layer_index is missing: layer_decay needs it"),
        ({"layer_index": r"(\d+)"}, "layer_decay", "layer_decay is missing: layer_index needs"),
        (
            {"layer_decay": 0.5, "layer_index": "layers"},
            "layer_index",
            "with a group that captures the layer index",
        ),
        ({"layer_decay": 0.0, "layer_index": r"(\d+)"}, "layer_decay", "layer_decay=0.0"),
        ({"scheduler": None}, "scheduler", "scheduler is missing: the optimizer needs"),
        ({"lr": 0.1}, "lr", "lr is not an optimizer field; valid fields: name, scheduler"),
        ({"plateau": {"factor": 1.0}}, "factor", "plateau.factor=1.0 is invalid"),
        ({"plateau": {"patience": -1}}, "patience", "plateau.patience=-1 is invalid"),
        ({"plateau": {"patience": 1.5}}, "patience", "expected an integer >= 0"),
        ({"plateau": {"accumulation_size": 0}}, "accumulation_size", "integer >= 1"),
        ({"plateau": {"rtol": 0.0}}, "atol", "rtol and atol are both 0"),
        ({"plateau": {"min_scale": 2}}, "min_scale", "plateau.min_scale=2 is invalid"),
        ({"plateau": {"patiense": 3}}, "patiense", "plateau.patiense is not a plateau field"),
        ({"plateau": 3}, "plateau", "plateau=3 is invalid: expected a mapping of plateau fields"),
        ({"param_groups": ["head"]}, "param_groups", "expected a mapping of group name to group"),
        (
            {"param_groups": {"default": {"match": "x"}}},
            "param_groups",
            "other than 'default' (reserved for unmatched parameters)",
        ),
        (
            {"param_groups": {"head": {"lr_mult": 2}}},
            "match",
            "param_groups.head.match is missing",
        ),
        (
            {"param_groups": {"head": {"match": "h", "lr_mult": 0}}},
            "lr_mult",
            "param_groups.head.lr_mult=0 is invalid: expected a finite number > 0 (to stop "
            "training a group, set freeze: true)",
        ),
        (
            {"param_groups": {"head": {"match": "h", "wd_mult": -1}}},
            "wd_mult",
            "param_groups.head.wd_mult=-1 is invalid",
        ),
        (
            {"param_groups": {"head": {"match": ["h", "[z"]}}},
            "match[1]",
            "param_groups.head.match[1]='[z' is invalid: not a regular expression",
        ),
        (
            {"param_groups": {"head": {"match": "h", "lr_mul": 2}}},
            "lr_mul",
            "param_groups.head.lr_mul is not a parameter group field; did you mean lr_mult? "
            "valid fields: match",
        ),
        (
            {"param_groups": {"head": {"match": "h", "freeze": 1}}},
            "freeze",
            "param_groups.head.freeze=1 is invalid: expected true or false",
        ),
    ],
)
def test_every_invalid_field_is_named(fields, field, message):
    raised = error(**fields)
    assert message in str(raised)
    assert raised.field == field


def test_counts_past_the_limit_are_refused_before_any_item_is_read():
    # Bounded work (issue 19): a count is work too; the message names the field and the limit.
    class Unread(dict):  # a mapping whose items must not be read
        def items(self):
            raise AssertionError("an item was read")

    groups = Unread({f"g{i}": {"match": "x"} for i in range(10_001)})
    raised = error(param_groups=groups)
    assert "param_groups has 10001 groups, which is invalid: at most MAX_COUNT = 10000" in str(
        raised
    )
    assert raised.field == "param_groups"
    patterns = ["(" * 10_000] * 10_001  # each would be a regex error if it were compiled
    raised = error(param_groups={"head": {"match": patterns}})
    assert "param_groups.head.match has 10001 patterns" in str(raised)
    raised = error(weight_decay=0.1, weight_decay_exclude=patterns)
    assert "weight_decay_exclude has 10001 patterns" in str(raised)


def test_a_hydra_node_names_fields_by_their_full_key():
    cfg = OmegaConf.create(
        {"optimizer": {**BASE, "param_groups": {"h": {"match": "x", "lr_mult": -1}}}}
    )
    with pytest.raises(ScheduleConfigError, match=re.escape("optimizer.param_groups.h.lr_mult=-1")):
        checked(cfg.optimizer)
    cfg = OmegaConf.create({"optimizer": {**BASE, "beta1": "???"}})
    with pytest.raises(ScheduleConfigError, match=re.escape("optimizer.beta1 is missing (???)")):
        checked(cfg.optimizer)


def test_the_name_and_the_scheduler_are_required():
    with pytest.raises(ScheduleConfigError, match="name is missing"):
        checked({"scheduler": {"lr": 1.0}})
    with pytest.raises(ScheduleConfigError, match="scheduler is missing"):
        checked({"name": "adam"})
    with pytest.raises(TypeError, match="expects an OptimizerConfig"):
        checked(3)


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"weight_decay_exclude": ["bias"]}, "weight_decay_exclude=('bias',)"),
        ({"name": "sgd", "beta2": 0.9}, "beta2=0.9"),
        ({"name": "sgd", "beta1": 0.0, "nesterov": True}, "nesterov=True"),
        ({"nesterov": True}, "nesterov=True"),
        ({"use_sharded_clip_norm": False}, "use_sharded_clip_norm=False"),
        ({"layer_decay": 1.0, "layer_index": r"(\d)"}, "layer_decay=1.0"),
        (
            {"param_groups": {"b": {"match": "b", "freeze": True, "lr_mult": 2.0}}},
            "param_groups.b.lr_mult=2.0",
        ),
        ({"param_groups": {"b": {"match": "b", "wd_mult": 2.0}}}, "param_groups.b.wd_mult=2.0"),
    ],
)
def test_a_field_without_effect_warns_at_the_users_line(fields, named):
    with pytest.warns(IgnoredFieldWarning, match=re.escape(named)) as caught:
        checked({**BASE, **fields})
    assert caught[0].filename == __file__


def test_a_valid_config_is_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        config = OptimizerConfig(
            name="AdamW",
            scheduler=SchedulerConfig(lr=1e-3),
            weight_decay=0.1,
            weight_decay_exclude=("bias",),
            grad_clip_norm=1.0,
            param_groups={"head": ParamGroupConfig(match=("head",), lr_mult=10.0)},
            plateau=PlateauConfig(patience=3),
        )
        settings = checked(config)
    assert settings.name == "adamw"  # as the seed, names are read case-insensitively
    assert settings.groups[0].lr_mult == 10.0 and settings.plateau == PlateauConfig(patience=3)


def test_get_to_dict_from_dict_round_trip():
    config = OptimizerConfig(
        name="lamb",
        scheduler=SchedulerConfig(lr=1e-3, name="cosine", decay_steps=10),
        weight_decay=0.1,
        weight_decay_include=("kernel",),
        param_groups={"head": ParamGroupConfig(match=("head",), freeze=True)},
        plateau=PlateauConfig(),
    )
    assert config.get("beta1") == 0.9 and config.get("nope", 3) == 3
    data = config.to_dict()
    assert data["scheduler"]["decay_steps"] == 10
    assert data["param_groups"] == {
        "head": {
            "match": ["head"],
            "lr_mult": 1.0,
            "wd_mult": 1.0,
            "freeze": True,
            "scheduler": None,
        }
    }
    again = OptimizerConfig.from_dict(OptimizerConfig, data)
    assert again == config
    assert sorted(data) == sorted(OPTIMIZER_FIELDS)
    with pytest.raises(ScheduleConfigError, match="lrr is not an optimizer field"):
        OptimizerConfig.from_dict(
            OptimizerConfig, {**data, "lrr": 1}, ignore_extensive_attributes=False
        )
    with pytest.raises(ScheduleConfigError, match="name is missing"):
        OptimizerConfig.from_dict(OptimizerConfig, {"scheduler": {}})


def test_the_config_its_checks_and_its_options_import_no_jax():
    code = (
        "import sys\n"
        "import hydra_optax_schedules\n"
        "from hydra_optax_schedules.optimizer import options, check\n"
        "options.optimizer_option_node('adamw')\n"
        "check.checked({'name': 'adam', 'scheduler': {'lr': 1.0}})\n"
        "print(sorted(m for m in ('jax', 'optax', 'numpy') if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


DOC = Path(__file__).resolve().parents[2] / "docs" / "optimizer.md"


@pytest.mark.parametrize(
    ("header", "config_class"),
    [
        ("| optimizer field | type | default | meaning |", OptimizerConfig),
        ("| group field | type | default | meaning |", ParamGroupConfig),
        ("| plateau field | type | default | meaning |", PlateauConfig),
    ],
)
def test_the_docs_list_every_field_with_its_type_and_default(header, config_class):
    """docs/optimizer.md's tables are the dataclasses' fields, in order: they cannot drift."""
    lines = DOC.read_text().splitlines()
    rows = []
    for line in lines[lines.index(header) + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip("|"))]
        name, kind, default = (cell.strip("`") for cell in cells[:3])
        rows.append((name, kind, default if default == "required" else ast.literal_eval(default)))
    expected = [
        (f.name, str(f.type), "required" if f.default is dataclasses.MISSING else f.default)
        for f in dataclasses.fields(config_class)
    ]
    assert rows == expected
