"""The ``optimizer`` group on every app's search path: typed options, ``_target_`` to the
builder, the app's ``scheduler`` node as the optimizer's schedule, overrides and multiruns."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException, InstantiationException
from hydra.utils import instantiate

from hydra_optax_schedules import (
    IgnoredFieldWarning,
    ScheduleConfigError,
    applied_hyperparams,
    build_optimizer,
)
from hydra_optax_schedules.optimizer.config import OPTIMIZER_NAMES

from support.reference import reference_lr

CONFIG = """
defaults:
  - scheduler: cosine
  - optimizer: adamw
  - _self_
scheduler:
  lr: 0.001
  decay_steps: 100
  warmup_steps: 10
"""


def composed(tmp_path: Path, overrides: list[str], config: str = CONFIG):
    (tmp_path / "config.yaml").write_text(config)
    with initialize_config_dir(version_base="1.3", config_dir=str(tmp_path)):
        return compose(config_name="config", overrides=overrides)


@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_every_option_instantiates_to_the_optimizer_and_the_app_s_schedule(tmp_path, name):
    cfg = composed(tmp_path, [f"optimizer={name}", "scheduler.lr=3e-4"])
    tx, schedule = instantiate(cfg.optimizer)
    fields = {"lr": 3e-4, "name": "cosine", "decay_steps": 100, "warmup_steps": 10}
    assert schedule(50) == pytest.approx(reference_lr(50, **fields), rel=1e-12)
    assert callable(tx.init) and callable(tx.update)
    assert cfg.optimizer.name == name


def test_command_line_overrides_reach_the_optimizer(tmp_path):
    import jax.numpy as jnp

    cfg = composed(tmp_path, ["optimizer=adamw", "optimizer.weight_decay=0.1"])
    tx, schedule = build_optimizer(cfg.optimizer)
    params = {"w": jnp.ones(2)}
    updates, _ = tx.update({"w": jnp.zeros(2)}, tx.init(params), params)
    assert float(updates["w"][0]) == pytest.approx(-0.1 * schedule(0), abs=1e-12)


def test_every_option_has_every_field_and_warns_where_it_has_no_effect(tmp_path):
    cfg = composed(tmp_path, ["optimizer=sgd", "optimizer.beta2=0.9"])
    with pytest.warns(IgnoredFieldWarning, match=r"optimizer\.beta2=0\.9 has no effect"):
        instantiate(cfg.optimizer)
    cfg = composed(tmp_path, ["optimizer=sgd", "optimizer.nesterov=true", "optimizer.beta1=0.9"])
    assert cfg.optimizer.nesterov is True


@pytest.mark.parametrize("override", ["optimizer.beta3=0.9", "+optimizer.beta3=0.9"])
def test_a_misspelt_key_is_named_with_the_fields_it_may_mean(tmp_path, override):
    """With or without ``+``, as from Python: the key composes and the builder names it."""
    cfg = composed(tmp_path, ["optimizer=sgd", override])
    message = "optimizer.beta3 is not an optimizer field; did you mean beta1 or beta2? "
    with pytest.raises(InstantiationException) as raised:
        instantiate(cfg.optimizer)
    assert str(raised.value.__cause__).startswith(message)
    with pytest.raises(ScheduleConfigError) as error:
        build_optimizer(cfg.optimizer)
    assert str(error.value).startswith(message)


RUN_LENGTH = """
defaults:
  - scheduler: cosine
  - optimizer: adamw
  - _self_
scheduler:
  lr: 0.001
optimizer:
  param_groups:
    head:
      match: [head]
      scheduler:
        name: linear
        lr: 0.01
"""


def test_the_run_length_at_runtime_reaches_every_schedule_of_the_optimizer(tmp_path):
    import jax.numpy as jnp

    cfg = composed(tmp_path, [], RUN_LENGTH)
    tx, schedule = instantiate(cfg.optimizer, run_steps=40)
    assert schedule(10) == pytest.approx(reference_lr(10, lr=1e-3, name="cosine", decay_steps=40))
    params = {"head": jnp.ones(1), "body": jnp.ones(1)}
    state = tx.init(params)
    for _ in range(11):
        _, state = tx.update({"head": jnp.ones(1), "body": jnp.ones(1)}, state, params)
    applied = applied_hyperparams(state)
    head = reference_lr(10, lr=0.01, name="linear", decay_steps=40)
    assert float(applied["head"]["lr"]) == pytest.approx(head, rel=1e-6)
    cfg = composed(tmp_path, ["scheduler.decay_steps=50"], RUN_LENGTH)
    with pytest.raises(InstantiationException, match=r"decay_steps=50.*run_steps=40"):
        instantiate(cfg.optimizer, run_steps=40)


def test_groups_are_typed_nodes_and_the_plateau_a_checked_one(tmp_path):
    config = (
        CONFIG + "optimizer:\n  param_groups:\n    head:\n      match: [head]\n      lr_mul: 2\n"
    )
    with pytest.raises(ConfigCompositionException) as raised:
        composed(tmp_path, [], config)
    assert "lr_mul" in str(raised.value.__cause__ or raised.value)
    config = CONFIG + (
        "optimizer:\n  param_groups:\n    head:\n      match: [head]\n      lr_mult: 2\n"
        "  plateau:\n    patience: 3\n"
    )
    cfg = composed(tmp_path, ["optimizer.param_groups.head.freeze=true"], config)
    assert cfg.optimizer.param_groups.head.lr_mult == 2 and cfg.optimizer.plateau.patience == 3
    assert cfg.optimizer.param_groups.head.freeze is True
    with pytest.warns(IgnoredFieldWarning, match=r"param_groups\.head\.lr_mult=2 has no effect"):
        instantiate(cfg.optimizer)  # the nested nodes reach the builder


def test_a_group_and_a_plateau_are_added_from_the_command_line(tmp_path):
    """A group joins with ``+optimizer.param_groups={name:{...}}`` (OmegaConf 2.3 cannot add a
    mapping to a dict of typed nodes key by key); the plateau, a plain node, is set whole and
    its keys are checked when the optimizer is built."""
    cfg = composed(
        tmp_path,
        [
            "+optimizer.param_groups={head:{match:[head],lr_mult:2}}",
            "optimizer.plateau={patience:3}",
        ],
    )
    assert cfg.optimizer.param_groups.head.lr_mult == 2 and cfg.optimizer.plateau.patience == 3
    instantiate(cfg.optimizer)
    cfg = composed(tmp_path, ["optimizer.plateau={patiense:3}"])
    with pytest.raises(InstantiationException, match=r"optimizer\.plateau\.patiense .*patience"):
        instantiate(cfg.optimizer)


def test_the_scheduler_s_errors_name_the_app_s_scheduler_node(tmp_path):
    cfg = composed(tmp_path, ["scheduler.warmup_steps=1000"])
    with pytest.raises(ScheduleConfigError, match=re.escape("scheduler.warmup_steps=1000")):
        build_optimizer(cfg.optimizer)
    cfg = composed(tmp_path, ["optimizer.beta1=2"])
    with pytest.raises(ScheduleConfigError, match=re.escape("optimizer.beta1=2 is invalid")):
        build_optimizer(cfg.optimizer)


NO_SCHEDULER = """
defaults:
  - optimizer: adam
  - _self_
"""


def test_an_app_without_a_scheduler_node_is_told_what_to_add(tmp_path):
    cfg = composed(tmp_path, [], NO_SCHEDULER)
    assert cfg.optimizer.scheduler is None
    message = "optimizer.scheduler is missing: the optimizer needs a learning-rate schedule"
    with pytest.raises(ScheduleConfigError, match=re.escape(message)):
        build_optimizer(cfg.optimizer)
    with pytest.raises(InstantiationException, match="add a scheduler to the defaults list"):
        instantiate(cfg.optimizer)
    cfg = composed(tmp_path, ["+optimizer.scheduler.lr=0.1"], NO_SCHEDULER)
    _, schedule = instantiate(cfg.optimizer)
    assert schedule(5) == 0.1


OPTIMIZER_APP = """
import json

import hydra
import jax.numpy as jnp
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate

from hydra_optax_schedules import applied_hyperparams


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg):
    tx, schedule = instantiate(cfg.optimizer)
    params = {"w": jnp.ones(3)}
    updates, state = tx.update({"w": jnp.zeros(3)}, tx.init(params), params)
    result = {
        "name": cfg.optimizer.name,
        "update": float(updates["w"][0]),
        "lr0": schedule(0),
        "applied": {k: float(v) for k, v in applied_hyperparams(state)["default"].items()},
    }
    with open(f"{HydraConfig.get().runtime.output_dir}/values.json", "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
"""
APP_CONFIG = """
defaults:
  - scheduler: constant
  - optimizer: adam
  - _self_
scheduler:
  lr: 0.01
"""


def optimizer_app(user_app):
    user_app.write("app.py", OPTIMIZER_APP)
    user_app.write("conf/config.yaml", APP_CONFIG)
    return user_app


@pytest.mark.full  # a subprocess or a real model: the full lane (CI)
def test_optimizer_and_weight_decay_from_the_command_line(user_app):
    app = optimizer_app(user_app)
    app.run("optimizer=adamw", "optimizer.weight_decay=0.1")
    result = app.result()
    assert result["name"] == "adamw"
    assert result["update"] == pytest.approx(-0.01 * 0.1, rel=1e-6)  # zero gradient: decay only
    assert result["applied"]["weight_decay"] == pytest.approx(0.01 * 0.1, rel=1e-6)


@pytest.mark.full
def test_a_multirun_over_optimizers(user_app):
    app = optimizer_app(user_app)
    app.run("-m", "optimizer=adam,adamw", "optimizer.weight_decay=0.5")
    results = [
        json.loads((app.root / "sweep" / str(i) / "values.json").read_text()) for i in (0, 1)
    ]
    assert [r["name"] for r in results] == ["adam", "adamw"]
    # adam's L2: Adam's step on 0.5 * p, about -lr; adamw's decoupled: -lr * 0.5 * p
    assert results[0]["update"] == pytest.approx(-0.01, rel=1e-4)
    assert results[1]["update"] == pytest.approx(-0.005, rel=1e-6)


def test_a_group_without_match_is_named(tmp_path):
    config = CONFIG + "optimizer:\n  param_groups:\n    head:\n      lr_mult: 2\n"
    cfg = composed(tmp_path, [], config)
    message = "optimizer.param_groups.head.match is missing (???)"
    with pytest.raises(ScheduleConfigError, match=re.escape(message)):
        build_optimizer(cfg.optimizer)


RUNTIME_LENGTH = """
defaults:
  - scheduler: cosine
  - optimizer: adamw
  - _self_
scheduler:
  lr: 0.001
  warmup_steps: 10
"""


def test_the_run_length_at_runtime_reaches_the_optimizer_s_schedule(tmp_path):
    cfg = composed(tmp_path, [], RUNTIME_LENGTH)
    fields = {"lr": 0.001, "name": "cosine", "decay_steps": 100, "warmup_steps": 10}
    _, schedule = instantiate(cfg.optimizer, scheduler={"decay_steps": 100})
    assert schedule(50) == pytest.approx(reference_lr(50, **fields), rel=1e-12)
    built = instantiate(cfg.scheduler, decay_steps=100)
    _, schedule = instantiate(cfg.optimizer, scheduler=built)
    assert schedule is built
    with pytest.raises(InstantiationException, match="decay_steps"):
        instantiate(cfg.optimizer)  # cosine needs the run length
