"""A user's own ``scheduler`` options in Hydra's ConfigStore replace ours or sit beside them.

Each app registers its nodes in a module it imports before ``main`` (as a real project does),
then runs in a subprocess; the values come from ``reference.py`` or are written out here.
"""

from __future__ import annotations

import pytest

from support.reference import reference_lr
from support.user_app import USER_APP

OUR_OPTIONS = [
    "constant",
    "cosine",
    "cosine_decay",
    "exponential",
    "exponential_decay",
    "inverse_sqrt",
    "linear",
    "multistep",
    "polynomial",
    "stages",
    "wsd",
]

MY_SCHEDULES = """
def halving(lr, decay_steps):
    return lambda step: lr / 2 ** (step // decay_steps)
"""

DATACLASS_STORE = """
from dataclasses import dataclass

from hydra.core.config_store import ConfigStore


@dataclass
class MyCosine:
    _target_: str = "hydra_optax_schedules.build_schedule"
    name: str = "linear"
    lr: float = 0.5
    decay_steps: int | None = None


@dataclass
class Halving:
    _target_: str = "my_schedules.halving"
    lr: float = 0.5
    decay_steps: int = 10


ConfigStore.instance().store(group="scheduler", name="cosine", node=MyCosine)
ConfigStore.instance().store(group="scheduler", name="halving", node=Halving)
"""

HYDRA_ZEN_STORE = """
from hydra_zen import builds, store

from hydra_optax_schedules import build_schedule
from my_schedules import halving

store(
    builds(build_schedule, name="linear", lr=0.5, decay_steps=None),
    group="scheduler",
    name="cosine",
)
store(builds(halving, populate_full_signature=True), group="scheduler", name="halving")
store.add_to_hydra_store()
"""


@pytest.fixture(params=["dataclass", "hydra_zen"])
def store_app(request, user_app):
    """The user app, with ``scheduler/cosine`` replaced and ``scheduler/halving`` added."""
    store = {"dataclass": DATACLASS_STORE, "hydra_zen": HYDRA_ZEN_STORE}[request.param]
    user_app.write("my_schedules.py", MY_SCHEDULES)
    user_app.write("my_store.py", store)
    user_app.write("app.py", "import my_store  # fills Hydra's ConfigStore\n" + USER_APP)
    return user_app


def assert_values(result, expected):
    assert result["values"] == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_a_configstore_node_replaces_our_option_of_the_same_name(store_app):
    proc = store_app.run()
    assert "schema" not in proc.stderr.lower()
    result = store_app.result()
    assert sorted(result["scheduler"]) == ["_target_", "decay_steps", "lr", "name"]
    assert result["scheduler"]["name"] == "linear"
    expected = [reference_lr(s, name="linear", lr=0.001, decay_steps=100) for s in range(120)]
    assert_values(result, expected)


def test_a_new_configstore_option_targets_the_users_own_function(store_app):
    store_app.run("scheduler=halving", "trainer.max_steps=40")
    assert_values(store_app.result(), [0.001 / 2 ** (s // 40) for s in range(120)])


@pytest.mark.full  # the full lane (CI): two more app runs
def test_our_other_options_stay_typed_beside_the_users(store_app):
    store_app.run("scheduler=cosine_decay", "scheduler.end_lr=1e-4")
    expected = [
        reference_lr(s, name="cosine", lr=0.001, decay_steps=100, end_lr=1e-4) for s in range(120)
    ]
    assert_values(store_app.result(), expected)
    proc = store_app.run("scheduler=cosine_decay", "scheduler.typo=1", check=False)
    assert proc.returncode != 0
    assert "scheduler.typo is not a scheduler field" in proc.stderr


@pytest.mark.full  # the full lane (CI): two more app runs
def test_help_lists_our_options_and_the_users_once_each(store_app):
    proc = store_app.run("--help")
    options = ", ".join(sorted([*OUR_OPTIONS, "halving"]))
    assert f"\nscheduler: {options}\n" in proc.stdout
