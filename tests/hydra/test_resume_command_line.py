"""``scheduler.cooldown_start=resume`` from the command line: it composes on every option of
the ``scheduler`` group and in a parameter group's own schedule, and is the step given as
``resume_step`` when the schedule is built; an int keeps its meaning.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import InstantiationException
from hydra.utils import instantiate

from hydra_optax_schedules import ScheduleConfigError, build_lr_scheduler
from hydra_optax_schedules.hydra_options import OPTION_CLASSES
from hydra_optax_schedules.optimizer import optimizer_schedules

from support.composed_reference import composed_lr

CONFIG = """
defaults:
  - scheduler: cosine
  - optimizer: adamw
  - _self_
scheduler:
  lr: 0.001
  warmup_steps: 10
"""
#: Each family's fields that it needs on the command line.
NEEDED = {
    "exponential": ["scheduler.end_lr_factor=0.1"],
    "multistep": ["scheduler.milestones=[20,30]"],
    "stages": ["scheduler.stages=[{steps:30,shape:cosine,end:0.5},{shape:constant}]"],
}


def composed(tmp_path: Path, overrides: list[str]):
    (tmp_path / "config.yaml").write_text(CONFIG)
    with initialize_config_dir(version_base="1.3", config_dir=str(tmp_path)):
        return compose(config_name="config", overrides=overrides)


@pytest.mark.parametrize("family", sorted(OPTION_CLASSES))
def test_resume_composes_on_every_option_and_is_the_resume_step(tmp_path, family):
    overrides = [f"scheduler={family}", *NEEDED.get(family, [])]
    branch = ["scheduler.cooldown_start=resume", "scheduler.cooldown_steps=8"]
    cfg = composed(tmp_path, [*overrides, *branch])
    assert cfg.scheduler.cooldown_start == "resume"
    schedule = instantiate(cfg.scheduler, run_steps=100, resume_step=40)
    as_int = composed(tmp_path, [*overrides, "scheduler.cooldown_start=40", branch[1]])
    assert as_int.scheduler.cooldown_start == 40  # an int stays an int
    assert schedule == instantiate(as_int.scheduler, run_steps=100)
    assert schedule.config.cooldown_start == 40
    if family == "cosine":
        fields = {"lr": 1e-3, "name": "cosine", "warmup_steps": 10, "decay_steps": 100}
        for step in (39, 40, 44, 48, 60):
            expected = composed_lr(step, **fields, cooldown_start=40, cooldown_steps=8)
            assert schedule(step) == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_without_the_resume_step_instantiate_names_the_full_key(tmp_path):
    cfg = composed(tmp_path, ["scheduler.cooldown_start=resume", "scheduler.cooldown_steps=8"])
    with pytest.raises(InstantiationException) as raised:
        instantiate(cfg.scheduler, run_steps=100)
    assert "scheduler.cooldown_start='resume' needs the step the run resumed at" in str(
        raised.value
    )


GROUP = (
    "+optimizer.param_groups={head:{match:[head],lr_mult:2,scheduler:{lr:0.01,name:linear,"
    "cooldown_start:resume,cooldown_steps:5}}}"
)


def test_a_parameter_groups_own_schedule_branches_off_the_resume_step(tmp_path):
    cfg = composed(tmp_path, [GROUP])
    built = optimizer_schedules(cfg.optimizer, run_steps=100, resume_step=30)
    assert sorted(built) == ["param_groups.head.scheduler", "scheduler"]
    group = built["param_groups.head.scheduler"]
    fields = {"lr": 0.01, "name": "linear", "decay_steps": 100}
    assert group == build_lr_scheduler({**fields, "cooldown_start": 30, "cooldown_steps": 5})
    for step in (0, 29, 30, 32, 35, 90):
        expected = composed_lr(step, **fields, cooldown_start=30, cooldown_steps=5)
        assert group(step) == pytest.approx(expected, rel=1e-12, abs=1e-15)
    # Built by instantiate, as a trainer builds it: the optimizer applies the same schedule.
    tx, schedule = instantiate(cfg.optimizer, run_steps=100, resume_step=30)
    assert schedule == built["scheduler"] and callable(tx.init)
    with pytest.raises(ScheduleConfigError) as raised:
        optimizer_schedules(cfg.optimizer, run_steps=100)
    assert str(raised.value).startswith(
        "optimizer.param_groups.head.scheduler.cooldown_start='resume' needs the step the run "
        "resumed at"
    )
