"""``describe_groups``: which parameters (paths, count, size) fall in which group, before training.

Expected rows are written out from the configs by hand; the labels are checked against the
optimizer's own state (the partition ``tx.init`` builds), so the table cannot tell another story
than the optimizer.
"""

from __future__ import annotations

import jax.numpy as jnp
import optax
import pytest

from hydra_optax_schedules.errors import ScheduleConfigError
from hydra_optax_schedules.optimizer import build_optimizer, describe_groups, format_groups_table

SCHEDULE = {"name": "constant", "lr": 1e-3, "decay_steps": 10}
PARAMS = {
    "embed": jnp.zeros((10, 4)),
    "layers": [{"kernel": jnp.zeros((4, 4)), "bias": jnp.zeros(4)} for _ in range(3)],
    "head": {"kernel": jnp.zeros((4, 2)), "bias": jnp.zeros(2)},
}
CONFIG = {
    "name": "adamw",
    "scheduler": SCHEDULE,
    "weight_decay": 0.1,
    "layer_decay": 0.5,
    "layer_index": r"layers\.(\d+)",
    "param_groups": {
        "head": {"match": ["^head"], "lr_mult": 10.0, "wd_mult": 0.0},
        "embed": {"match": ["^embed"], "freeze": True},
    },
}


def test_each_label_lists_its_parameters_size_and_factors():
    rows = {row.label: row for row in describe_groups(CONFIG, PARAMS)}

    assert list(rows) == ["embed", "head", "default/layer0", "default/layer1", "default/layer2"]
    assert rows["embed"].paths == ("embed",) and rows["embed"].size == 40
    assert rows["embed"].frozen and rows["embed"].lr_factor == 0.0
    assert rows["head"].paths == ("head.bias", "head.kernel") and rows["head"].size == 10
    assert (rows["head"].lr_factor, rows["head"].wd_mult) == (10.0, 0.0)
    for i, factor in enumerate([0.25, 0.5, 1.0]):
        row = rows[f"default/layer{i}"]
        assert row.paths == (f"layers.{i}.bias", f"layers.{i}.kernel")
        assert (row.size, row.lr_factor, row.wd_mult, row.frozen) == (20, factor, 1.0, False)


def test_the_labels_are_the_optimizers_own():
    tx, _ = build_optimizer(CONFIG)
    partition = tx.init(PARAMS)[0]  # no clipping: the partition comes first
    assert isinstance(partition, optax.PartitionState)
    assert {row.label for row in describe_groups(CONFIG, PARAMS)} == set(partition.inner_states)


def test_the_table_aligns_its_columns_and_marks_the_frozen_group():
    rows = describe_groups(CONFIG, PARAMS)
    table = format_groups_table(rows).splitlines()

    assert table[0].split() == ["group", "params", "size", "lr", "x", "wd", "x", "paths"]
    assert table[1].split() == ["embed", "1", "40", "0", "0", "embed", "(frozen)"]
    assert table[2].split() == ["head", "2", "10", "10", "0", "head.bias,", "head.kernel"]
    starts = {
        line.index(row.paths[0], len(row.label)) for line, row in zip(table[1:], rows, strict=True)
    }
    assert starts == {table[0].index("paths")}  # every row's paths in the paths column


def test_more_paths_than_shown_end_in_an_ellipsis():
    many = {f"w{i}": jnp.zeros(3) for i in range(6)}
    config = {"name": "sgd", "scheduler": SCHEDULE}
    (row,) = describe_groups(config, many)
    assert (row.label, len(row.paths), row.size) == ("default", 6, 18)
    assert format_groups_table([row]).splitlines()[1].endswith("w0, w1, w2, w3, ...")


def test_a_pattern_that_matches_nothing_is_the_same_error_as_at_init():
    config = {**CONFIG, "param_groups": {"x": {"match": ["^nothing"]}}}
    with pytest.raises(ScheduleConfigError, match=r"match\[0\]='\^nothing' matches no param"):
        describe_groups(config, PARAMS)
