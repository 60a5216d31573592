"""A schedule is immutable: what it computes, its repr, hash and pickled copies never diverge."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from hydra_optax_schedules import SchedulerConfig, build_lr_scheduler


@pytest.fixture
def schedule():
    return build_lr_scheduler(SchedulerConfig(lr=1.0, name="linear", decay_steps=10))


def test_its_config_cannot_be_changed(schedule):
    before = (repr(schedule), hash(schedule), schedule(5))
    with pytest.raises(dataclasses.FrozenInstanceError):
        schedule.config.lr = 2.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        schedule.phases[0].start_value = 2.0
    with pytest.raises(AttributeError, match="immutable"):
        schedule.config = SchedulerConfig(lr=2.0)
    with pytest.raises(AttributeError, match="immutable"):
        del schedule.phases
    assert (repr(schedule), hash(schedule), schedule(5)) == before
    assert pickle.loads(pickle.dumps(schedule))(5) == before[2]


def test_a_changed_config_is_a_new_schedule(schedule):
    doubled = build_lr_scheduler(dataclasses.replace(schedule.config, lr=2.0))
    assert (schedule(5), doubled(5)) == (0.5, 1.0)
    assert doubled != schedule


def test_the_configs_users_pass_are_frozen_too():
    config = SchedulerConfig(lr=1.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.decay_steps = 10
    assert hash(config) == hash(SchedulerConfig(lr=1.0))
