"""A key that is no field reads the same on the command line as from Python and YAML (issue 19).

``scheduler.warmup=10`` composes on our options, with or without ``+``/``++`` (the options
are typed nodes whose own ``struct`` flag is False: ``hydra_options.open_node``), and every
path we own that builds the schedule refuses it, naming the key and the fields it may mean:
``instantiate`` (of the scheduler, a ``_partial_`` one, the optimizer), ``build_lr_scheduler``
(of the node, and of ``OmegaConf.to_object``'s option), ``load_schedule`` (of the node, and of
the saved config's YAML) and ``build_optimizer``. The expected text is the Python path's own
(``build_lr_scheduler`` of a mapping), with the node's key in front. In-process composition
only; the apps, sweeps and ``lrview`` in subprocesses are in the full lane
(``test_command_line_typos_in_apps.py``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException, InstantiationException
from hydra.utils import instantiate
from omegaconf import OmegaConf

from hydra_optax_schedules import ScheduleConfigError, build_lr_scheduler, build_optimizer
from hydra_optax_schedules.safe_load import load_schedule

CONFIG = """
defaults:
  - scheduler: cosine
  - optimizer: adamw
  - _self_
scheduler:
  lr: 0.001
  decay_steps: 100
"""
#: The defaults list of Hydra 1.0's order: the primary config first, our option merged into it.
SELF_FIRST = """
defaults:
  - _self_
  - scheduler: cosine
scheduler:
  lr: 0.001
  decay_steps: 100
"""
#: A user's option that extends ours (docs/hydra-app.md).
COSINE_SQRT = """
defaults:
  - cosine
  - _self_
cooldown_fraction: 0.1
cooldown_shape: sqrt
"""


def python_message(key: str, **fields: object) -> str:
    """What the Python path says of ``key`` (a mapping given to ``build_lr_scheduler``)."""
    with pytest.raises(ScheduleConfigError) as error:
        build_lr_scheduler({"lr": 1e-3, "decay_steps": 100, **fields})
    message = str(error.value)
    assert message.startswith(f"{key} is not a ")
    return message


def refusals(cfg, node: str = "scheduler"):
    """``(path, message)`` for every path we own that builds the schedule of ``cfg[node]``."""

    def raised(build):
        try:
            build()
        except InstantiationException as error:
            return str(error.__cause__)
        except ScheduleConfigError as error:
            return str(error)
        pytest.fail("built without a word")

    scheduler = cfg[node]
    paths = {
        "instantiate": lambda: instantiate(scheduler),
        "instantiate(_partial_)": lambda: instantiate(scheduler, _partial_=True)(),
        "build_lr_scheduler(node)": lambda: build_lr_scheduler(scheduler),
        "build_lr_scheduler(to_object)": lambda: build_lr_scheduler(OmegaConf.to_object(scheduler)),
        "load_schedule(node)": lambda: load_schedule(scheduler),
        "load_schedule(saved yaml)": lambda: load_schedule(OmegaConf.to_yaml(cfg), key=node),
    }
    if "optimizer" in cfg and node == "scheduler":  # the optimizer's schedule
        paths["instantiate(optimizer)"] = lambda: instantiate(cfg.optimizer)
        paths["build_optimizer"] = lambda: build_optimizer(cfg.optimizer)
    return {path: raised(build) for path, build in paths.items()}


def composed(tmp_path: Path, overrides: list[str], config: str = CONFIG, name: str = "config"):
    (tmp_path / f"{name}.yaml").write_text(config)
    with initialize_config_dir(version_base="1.3", config_dir=str(tmp_path)):
        return compose(config_name=name, overrides=overrides)


def assert_named_on_every_path(cfg, prefix: str, message: str, node: str = "scheduler"):
    for path, got in refusals(cfg, node).items():
        # A dataclass (OmegaConf.to_object) and a partial's keywords know no key of their own:
        # the Python path's text.
        plain = ("build_lr_scheduler(to_object)", "instantiate(_partial_)")
        expected = message if path in plain else prefix + message
        assert got == expected, path


def test_the_python_path_suggests_the_warmup_fields():
    assert python_message("warmup", warmup=10).startswith(
        "warmup is not a scheduler field; did you mean warmup_steps, warmup_shape, "
        "warmup_start_lr or warmup_fraction? valid fields: lr, name, "
    )


@pytest.mark.parametrize(
    "override", ["scheduler.warmup=10", "+scheduler.warmup=10", "++scheduler.warmup=10"]
)
def test_a_key_that_is_no_field_is_named_on_every_path_with_the_fields_it_may_mean(
    tmp_path, override
):
    cfg = composed(tmp_path, [override])
    assert_named_on_every_path(cfg, "scheduler.", python_message("warmup", warmup=10))


@pytest.mark.parametrize(
    ("config", "overrides"),
    [
        (SELF_FIRST, ["scheduler.cylces=4"]),
        (CONFIG, ["scheduler=wsd", "scheduler.cylces=4"]),
        (CONFIG, ["scheduler=cosine_sqrt", "scheduler.cylces=4"]),
    ],
    ids=["self-first", "wsd", "users-option-extending-ours"],
)
def test_the_typo_composes_whatever_the_defaults_list(tmp_path, config, overrides):
    (tmp_path / "scheduler").mkdir()
    (tmp_path / "scheduler" / "cosine_sqrt.yaml").write_text(COSINE_SQRT)
    cfg = composed(tmp_path, overrides, config)
    assert_named_on_every_path(cfg, "scheduler.", python_message("cylces", cylces=4))


def test_a_schedule_added_at_another_package_names_its_own_key(tmp_path):
    cfg = composed(
        tmp_path,
        [
            "+scheduler@wd_schedule=linear",
            "wd_schedule.lr=0.1",
            "wd_schedule.decay_steps=10",
            "wd_schedule.warmp=3",
        ],
    )
    assert_named_on_every_path(cfg, "wd_schedule.", python_message("warmp", warmp=3), "wd_schedule")


def test_a_key_of_the_units_node_that_is_no_field(tmp_path):
    cfg = composed(tmp_path, ["scheduler.units.unti=tokens"])
    message = python_message("units.unti", units={"unti": "tokens"})
    assert "did you mean unit?" in message
    assert_named_on_every_path(cfg, "scheduler.", message)


def test_a_typed_node_still_refuses_to_read_a_key_it_lacks(tmp_path):
    """Only setting is open: reading a key that is not there raises, as before."""
    cfg = composed(tmp_path, [])
    with pytest.raises(Exception, match="warmup"):
        _ = cfg.scheduler.warmup
    assert OmegaConf.get_type(cfg.scheduler).__name__ == "CosineOption"


def test_a_stage_stays_typed_and_a_typo_in_it_is_omegaconfs_error(tmp_path):
    """A stage is a typed node OmegaConf makes from its class when the list is set, with no
    flag of ours: its typo is refused at compose time (not silently), without suggestion."""
    stages = "scheduler.stages=[{shape: linear, end: 0.1}]"
    with pytest.raises(ConfigCompositionException) as raised:
        composed(tmp_path, ["scheduler=stages", stages, "scheduler.stages.0.ennd=3"])
    assert "Key 'ennd' not in 'StageOption'" in str(raised.value.__cause__)
