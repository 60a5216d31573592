"""describe_param_groups: which parameters (path, count, size) fall in which group, as the
optimizer's init assigns them."""

from __future__ import annotations

import warnings

import jax.numpy as jnp
import pytest

from hydra_optax_schedules import (
    IgnoredFieldWarning,
    ScheduleConfigError,
    build_optimizer,
    describe_param_groups,
)

PARAMS = {
    "embed": {"table": jnp.zeros((10, 4))},
    "layers": [{"kernel": jnp.zeros((4, 4)), "bias": jnp.zeros(4)} for _ in range(3)],
    "head": {"kernel": jnp.zeros((4, 2)), "bias": jnp.zeros(2)},
}
CONFIG = {
    "name": "adamw",
    "scheduler": {"lr": 1e-3},
    "weight_decay": 0.1,
    "weight_decay_exclude": ["bias$"],
    "param_groups": {
        "embed": {"match": ["^embed"], "freeze": True},
        "head": {"match": ["^head"], "lr_mult": 10.0, "wd_mult": 0.5},
    },
    "layer_decay": 0.5,
    "layer_index": r"^layers\.(\d+)\.",
}


def test_each_label_with_its_parameters_and_multipliers():
    table = describe_param_groups(CONFIG, PARAMS)
    rows = {row.label: row for row in table.rows}
    assert sorted(rows) == ["default/layer0", "default/layer1", "default/layer2", "embed", "head"]
    assert rows["embed"].frozen and rows["embed"].size == 40 and rows["embed"].decayed == 0
    assert rows["head"].paths == ("head.bias", "head.kernel")
    assert (rows["head"].count, rows["head"].size, rows["head"].decayed) == (2, 10, 1)
    assert (rows["head"].lr_mult, rows["head"].wd_mult) == (10.0, 0.5)
    assert [rows[f"default/layer{i}"].lr_mult for i in range(3)] == [0.25, 0.5, 1.0]
    assert sum(row.size for row in table.rows) == 40 + 3 * 20 + 10
    text = str(table)
    assert text.splitlines()[0].split() == [
        "label", "lr_mult", "wd_mult", "arrays", "values", "decayed", "paths"
    ]  # fmt: skip
    assert "embed           frozen" in text and "head.bias, head.kernel" in text


def test_the_same_errors_as_init():
    config = {**CONFIG, "param_groups": {"x": {"match": ["decoder"]}}}
    with pytest.raises(ScheduleConfigError) as described:
        describe_param_groups(config, PARAMS)
    tx, _ = build_optimizer(config)
    with pytest.raises(ScheduleConfigError) as initialized:
        tx.init(PARAMS)
    assert str(described.value) == str(initialized.value)
    assert "param_groups.x.match[0]='decoder' matches no parameter" in str(described.value)


def test_building_and_describing_warn_once_for_each_field_without_effect():
    # sgd has no beta2, and a weight decay of 0 no exclusion patterns.
    config = {**CONFIG, "name": "sgd", "beta2": 0.9, "weight_decay": 0.0}

    def ignored_warnings(*calls):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")  # every warning, even one repeated at a line
            for call in calls:
                call()
        return [str(w.message) for w in caught if issubclass(w.category, IgnoredFieldWarning)]

    built = ignored_warnings(lambda: build_optimizer(config))
    assert len(built) == 1 and "beta2=0.9" in built[0] and "weight_decay_exclude" in built[0]
    both = ignored_warnings(
        lambda: build_optimizer(config), lambda: describe_param_groups(config, PARAMS)
    )
    assert both == built
