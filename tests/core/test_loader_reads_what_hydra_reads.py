"""The loader reads what Hydra reads: a run's saved config loads with ``load_schedule``
whenever ``instantiate`` builds it without running anything, to the same schedule; where one
refuses, so does the other.

The parity property writes generated configs as Hydra saves them (``OmegaConf.save``: the
interpolations unresolved), with their fields as interpolations of every kind OmegaConf
resolves (``support.generators.saved_configs``), and compares ``instantiate`` of the file's
``scheduler`` node with ``load_schedule`` of the file, of the loaded ``DictConfig``, and of its
``scheduler`` node. The regressions below it are each a case that ``main`` got wrong.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from hydra.utils import instantiate
from hypothesis import event, given
from omegaconf import OmegaConf

from hydra_optax_schedules import (
    IgnoredFieldWarning,
    ScheduleConfigError,
    SchedulerConfig,
    StageConfig,
)
from hydra_optax_schedules.safe_load import load_schedule

from support.generators import saved_configs

RESOLVER = "test_loader_parity_marker"


def probe_steps(fields):
    D = fields.get("decay_steps") or 1000
    return sorted({0, 1, 2, D // 3, D // 2, D - 1, D, D + 1, 2 * D + 7})


def outcome(build, steps):
    """The schedule's values at ``steps``, or ``"refused"``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", IgnoredFieldWarning)
            schedule = build()
            return [schedule(step) for step in steps]
    except Exception:  # instantiate wraps the builder's error, OmegaConf raises its own
        return "refused"


@given(saved_configs(broken=True))
def test_load_schedule_builds_what_instantiate_builds(tmp_path_factory, case):
    document, fields = case
    path = tmp_path_factory.mktemp("run") / "config.yaml"
    OmegaConf.save(OmegaConf.create(document), path)  # what Hydra writes: .hydra/config.yaml
    steps = probe_steps(fields)
    expected = outcome(lambda: instantiate(OmegaConf.load(path).scheduler), steps)
    loaded = OmegaConf.load(path)
    for name, build in {
        "file": lambda: load_schedule(path, key="scheduler"),
        "DictConfig": lambda: load_schedule(loaded, key="scheduler"),
        "its node": lambda: load_schedule(loaded.scheduler),
    }.items():
        assert outcome(build, steps) == expected, (name, path.read_text())
    event(f"both {'refuse' if expected == 'refused' else 'build'}")


@given(saved_configs())
def test_every_interpolation_omegaconf_resolves_is_read(tmp_path_factory, case):
    """Without the broken forms, instantiate builds each one, and so does the loader: the
    schedule of the fields written plainly."""
    document, fields = case
    path = tmp_path_factory.mktemp("run") / "config.yaml"
    OmegaConf.save(OmegaConf.create(document), path)
    steps = probe_steps(fields)
    plain = outcome(lambda: load_schedule(fields), steps)
    assert plain != "refused"
    assert outcome(lambda: instantiate(OmegaConf.load(path).scheduler), steps) == plain
    assert outcome(lambda: load_schedule(path, key="scheduler"), steps) == plain, path.read_text()


# --- Regressions: each one failed on main ---------------------------------------------------

MULTISTEP = """\
run:
  ms: [10, 20]
scheduler:
  _target_: hydra_optax_schedules.build_schedule
  name: multistep
  lr: 1.0
  decay_steps: 30
  milestones: ${run.ms}
"""


def test_milestones_interpolated_from_another_node_load_as_instantiate_builds_them():
    expected = instantiate(OmegaConf.create(MULTISTEP).scheduler)
    schedule = load_schedule(MULTISTEP, key="scheduler")
    assert schedule.config.milestones == (10, 20)
    assert [schedule(s) for s in range(31)] == [expected(s) for s in range(31)]


def test_a_scheduler_node_given_alone_resolves_against_its_whole_config():
    cfg = OmegaConf.create(MULTISTEP.replace("decay_steps: 30", "decay_steps: ${..run.D}"))
    cfg.run.D = 40
    assert load_schedule(cfg.scheduler).config.decay_steps == 40


@pytest.mark.parametrize(
    ("text", "where", "lines"),
    [
        ("lr: 1.0\nname: cosine\nlr: 2.0\n", "lr", (1, 3)),
        ("trainer:\n  steps: 1\n  steps: 2\nscheduler: {lr: 1.0}\n", "trainer.steps", (2, 3)),
        ('{"scheduler": {"lr": 1.0, "lr": 2.0}}', "scheduler.lr", (1, 1)),
    ],
)
def test_a_key_set_twice_is_refused_naming_it_and_both_lines(text, where, lines):
    with pytest.raises(Exception, match="duplicate key"):
        OmegaConf.create(text)  # OmegaConf refuses it, so Hydra never builds it
    with pytest.raises(ScheduleConfigError) as error:
        load_schedule(text, key="scheduler" if "scheduler" in text else None)
    assert str(error.value).startswith(
        f"{where} is set twice in one mapping (lines {lines[0]} and {lines[1]})"
    )
    assert error.value.field == where.rsplit(".", 1)[-1]


def test_a_merge_key_overridden_is_not_a_duplicate_as_for_omegaconf():
    text = (
        "base: &base {lr: 1.0, name: cosine, decay_steps: 10}\nscheduler:\n  <<: *base\n  lr: 2.0\n"
    )
    assert OmegaConf.create(text).scheduler.lr == 2.0
    assert load_schedule(text, key="scheduler").config.lr == 2.0


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("scheduler:\n  lr: 1.0\n  decay_steps: " + "7" * 5000 + "\n", "scheduler.decay_steps"),
        (
            "scheduler:\n  lr: 1.0\n  name: multistep\n  milestones: [1, " + "7" * 5000 + "]\n",
            "scheduler.milestones[1]",
        ),
    ],
)
def test_an_integer_of_more_digits_than_python_reads_names_its_field(text, where):
    with pytest.raises(ScheduleConfigError) as error:
        load_schedule(text, key="scheduler")
    assert str(error.value).startswith(f"{where}=<an integer of 5000 digits> is invalid")
    assert error.value.field == where.rsplit(".", 1)[-1]


def test_a_path_that_omegaconf_saved_elsewhere_in_the_config_is_read(tmp_path):
    from pathlib import Path

    cfg = OmegaConf.create({"out": Path("/tmp/run"), "scheduler": {"lr": 1.0}})
    path = tmp_path / "config.yaml"
    OmegaConf.save(cfg, path)
    assert "pathlib" in path.read_text()  # written with a tag that OmegaConf reads back
    assert load_schedule(path, key="scheduler").config.lr == 1.0


@pytest.fixture
def resolver(tmp_path):
    marker = tmp_path / "ran"
    OmegaConf.register_new_resolver(RESOLVER, lambda *args: marker.touch() or 1.0, replace=True)
    yield marker
    OmegaConf.clear_resolver(RESOLVER)


@pytest.mark.parametrize(
    ("value", "resolver_name"),
    [
        ("${" + RESOLVER + ":}", RESOLVER),
        ("${run.lr}", RESOLVER),  # through a node that calls it
        ("${oc.env:TEST_LOADER_LR}", "oc.env"),
        ("${oc.decode:${oc.env:TEST_LOADER_LR}}", "oc.env"),
        ("1e-${" + RESOLVER + ":}", RESOLVER),
    ],
)
def test_a_resolver_is_refused_naming_the_key_and_the_resolver(
    resolver, monkeypatch, value, resolver_name
):
    monkeypatch.setenv("TEST_LOADER_LR", "0.5")
    document = {"run": {"lr": "${" + RESOLVER + ":}"}, "scheduler": {"lr": value}}
    with pytest.raises(ScheduleConfigError) as error:
        load_schedule(document, key="scheduler")
    assert str(error.value).startswith("scheduler.lr=")
    assert f"it calls the resolver {resolver_name!r}" in str(error.value)
    assert error.value.field == "lr"
    assert not resolver.exists()


def test_to_dict_is_json_with_numpy_scalars_as_python_numbers():
    config = SchedulerConfig(
        lr=np.float32(0.35),
        name="stages",
        decay_steps=np.int64(100),
        warmup_steps=np.uint16(3),
        stages=(StageConfig(end=np.float64(0.5), shape=np.str_("cosine")),),
    )
    data = config.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert (data["lr"], data["decay_steps"], data["warmup_steps"]) == (0.35, 100, 3)
    assert type(data["decay_steps"]) is int and type(data["stages"][0]["shape"]) is str
    assert load_schedule(data) == load_schedule(json.dumps(data))


def test_to_dict_names_a_value_that_is_not_json_data():
    with pytest.raises(
        ScheduleConfigError, match=r"^cooldown_lr=<object object at .*> is not JSON"
    ):
        SchedulerConfig(lr=1.0, cooldown_lr=object()).to_dict()
    with pytest.raises(ScheduleConfigError, match=r"^stages\[0\]\.end=") as error:
        SchedulerConfig(lr=1.0, stages=(StageConfig(end=1j),)).to_dict()
    assert error.value.field == "stages[0].end"


def test_from_dict_reads_the_repr_of_a_config_holding_numpy_scalars():
    config = SchedulerConfig(
        lr=np.float32(0.35),
        name="multistep",
        decay_steps=np.int64(100),
        milestones=(np.int32(10), np.int64(50)),
        end_lr=np.float64(-np.inf),
        warmup_shape=np.str_("cosine"),
        stages=(StageConfig(steps=np.uint8(3)),),
    )
    assert "np.float32(0.35)" in repr(config)  # NumPy 2's repr
    read = SchedulerConfig.from_dict(SchedulerConfig, repr(config), strict_classname_parsing=True)
    assert read.to_dict() == config.to_dict()
    assert read.lr == 0.35 and read.milestones == (10, 50)


@pytest.mark.parametrize(
    "text", ["np.float64(__import__('os'))", "np.load('x')", "numpy.int64(1, 2)"]
)
def test_from_dict_reads_only_a_numpy_scalar_of_a_literal(text):
    with pytest.raises(ScheduleConfigError, match="only literal values"):
        SchedulerConfig.from_dict(SchedulerConfig, f"SchedulerConfig(lr={text})")


def test_instantiates_own_flags_are_read_as_instantiate_reads_them():
    text = MULTISTEP.replace("  name:", "  _recursive_: false\n  _convert_: all\n  name:")
    expected = instantiate(OmegaConf.create(text).scheduler)
    assert [load_schedule(text, key="scheduler")(s) for s in range(31)] == [
        expected(s) for s in range(31)
    ]
    with pytest.raises(ScheduleConfigError, match=r"^scheduler\._recursive_='no' is refused"):
        load_schedule(text.replace("_recursive_: false", "_recursive_: 'no'"), key="scheduler")


def test_from_dict_names_the_field_of_an_integer_of_more_digits_than_python_reads():
    text = "SchedulerConfig(lr=1.0, decay_steps=" + "7" * 5000 + ")"
    with pytest.raises(ScheduleConfigError, match=r"^decay_steps=<an integer of 5000 digits>") as e:
        SchedulerConfig.from_dict(SchedulerConfig, text)
    assert e.value.field == "decay_steps"
