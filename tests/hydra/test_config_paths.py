"""Every way a config arrives gives the same schedule: one source of defaults.

A config reaches the builder as a ``SchedulerConfig``, a mapping, keywords of
``build_schedule``, a Hydra option (composed, instantiated, with the run length given at
``instantiate`` time as a NumPy or JAX integer), ``load_schedule`` (a mapping or YAML text)
or ``SchedulerConfig.from_dict`` (JSON). Fields left out take their defaults, which must be
the same on every path: ``decay_steps`` of 0 (the seed's default) or ``None`` is "not given",
and a family's own defaults (``wsd``'s 1-sqrt cooldown) apply however the config arrives.

The run length a trainer counts reaches every path as ``run_steps`` (``RUN_LENGTH_PATHS``,
``lrview`` included): it is the config's ``decay_steps`` when that is unset, is accepted when
equal, and is an error naming both values and both sources when they differ, on every path.
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import hypothesis.strategies as st
import jax.numpy as jnp
import numpy as np
import pytest
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from hypothesis import assume, given
from omegaconf import OmegaConf

from hydra_optax_schedules import (
    ScheduleConfigError,
    SchedulerConfig,
    build_lr_scheduler,
)
from hydra_optax_schedules.hydra_options import option_node
from hydra_optax_schedules.safe_load import load_schedule

from support.composed_generators import composed_configs, reference_config
from support.composed_reference import composed_lr
from support.entry_paths import (
    PATHS,
    RUN_LENGTH_PATHS,
    RUNTIME_PATHS,
    hydra_option,
    mounted,
    with_run_steps,
    with_runtime_length,
)
from support.generators import configs
from support.lanes import default_lane_examples
from support.reference import FAMILIES, reference_lr
from support.tolerance import host_tolerance

DEFAULTS = {f.name: f.default for f in dataclasses.fields(SchedulerConfig)}
PROBES = (-1, 0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 10**4, 10**9, 2**40)


def family_default(family, field):
    """What the docs say a field left out is: wsd cools down in 1-sqrt, others linearly."""
    if field == "cooldown_shape":
        return "sqrt" if family == "wsd" else "linear"
    return DEFAULTS[field]


@st.composite
def partial_configs(draw):
    """A valid config with some fields left out (those at their default), and ``decay_steps``
    of 0 and ``None`` used interchangeably where the run length is not given."""
    case = draw(configs())
    family = FAMILIES[case["name"]]
    kept = {}
    for field, value in case.items():
        at_default = value == family_default(family, field) or (
            field == "decay_steps" and value in (0, None)
        )
        if field == "lr" or not at_default or draw(st.booleans()):
            kept[field] = value
    if kept.get("decay_steps", 0) in (0, None) and "decay_steps" in kept:
        kept["decay_steps"] = draw(st.sampled_from([0, None]))
    return kept


def quiet(build, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a generated config may set a field without effect
        return build(*args, **kwargs)


def every_path(fields):
    """The schedule each path builds from ``fields``, by path (``support/entry_paths.py``)."""
    runs = {name: path.build for name, path in PATHS.items()}
    D = fields.get("decay_steps")
    if D:  # the run length given at runtime, as a training loop counts it
        for name, run in with_runtime_length(fields, np.int64).items():
            runs[f"{name} np.int64"] = run
        for name, run in with_run_steps(fields, np.int64).items():
            runs[f"{name} np.int64"] = run
        for name, run in with_run_steps(fields, keep_decay_steps=True).items():
            runs[f"{name} and an equal decay_steps"] = run
        if D < 2**31:
            for name, run in with_runtime_length(fields, jnp.int32).items():
                runs[f"{name} jnp.int32"] = run
            for name, run in with_run_steps(fields, jnp.int32).items():
                runs[f"{name} jnp.int32"] = run
    return {path: quiet(run, fields) for path, run in runs.items()}


@default_lane_examples(15)  # each example builds through every path, some twice
@given(partial_configs())
def test_every_path_builds_the_same_schedule(fields):
    schedules = every_path(fields)
    first = schedules["SchedulerConfig"]
    want = [reference_lr(step, **fields) for step in PROBES]
    got = [first(step) for step in PROBES]
    np.testing.assert_allclose(got, want, **host_tolerance({**DEFAULTS, **fields}, PROBES))
    for path, schedule in schedules.items():
        assert schedule.config == first.config, path
        assert [schedule(step) for step in PROBES] == [first(step) for step in PROBES], path


@pytest.mark.parametrize("decay_steps", [0, None])
def test_inverse_sqrt_with_the_seeds_default_decay_steps_decays(decay_steps):
    config = SchedulerConfig(lr=1e-3, name="inverse_sqrt", timescale=100, decay_steps=decay_steps)
    schedule = build_lr_scheduler(config)
    assert schedule(300) == pytest.approx(1e-3 * (100 / 400) ** 0.5, rel=1e-12)
    warm = build_lr_scheduler(dataclasses.replace(config, warmup_steps=4000))
    assert warm(4000 + 300) == pytest.approx(1e-3 * (100 / 400) ** 0.5, rel=1e-12)


@pytest.mark.parametrize("decay_steps", [0, None])
def test_a_family_that_needs_the_length_says_so_for_0_as_for_none(decay_steps):
    with pytest.raises(ScheduleConfigError, match="needs the run length") as error:
        build_lr_scheduler(SchedulerConfig(lr=1.0, name="cosine", decay_steps=decay_steps))
    assert error.value.field == "decay_steps"


def test_wsd_cools_down_in_1_sqrt_from_python_and_from_hydra():
    from_python = build_lr_scheduler(SchedulerConfig(lr=1.0, name="wsd", decay_steps=100))
    node = option_node("wsd")
    node.lr, node.decay_steps = 1.0, 100
    from_hydra = instantiate(node)
    # The cooldown is the last 20 steps: at its middle, 1 - sqrt(1/2) of the way down.
    assert from_python(90) == from_hydra(90) == pytest.approx(1 - 0.5**0.5, rel=1e-12)
    assert from_python.config == from_hydra.config


def builder_error(build, *args):
    """The ``ScheduleConfigError`` a path raises (``instantiate`` wraps it in its own)."""
    with pytest.raises((ScheduleConfigError, InstantiationException)) as raised:
        quiet(build, *args)
    error = raised.value
    if isinstance(error, InstantiationException):
        error = error.__cause__
    assert isinstance(error, ScheduleConfigError), repr(error)
    return error


@given(partial_configs(), st.integers(1, 10**9), st.sampled_from([int, np.int64]))
def test_a_run_length_other_than_the_configs_decay_steps_fails_on_every_path_naming_both(
    fields, run_steps, convert
):
    D = fields.get("decay_steps")
    if not D or run_steps == D:
        fields = {**fields, "decay_steps": run_steps + 1}
        D = run_steps + 1
    for path, build in RUN_LENGTH_PATHS.items():
        error = builder_error(build, fields, convert(run_steps))
        message = str(error)
        assert error.field == "decay_steps", path
        assert f"decay_steps={D} (set in the config)" in message, (path, message)
        assert f"run_steps={run_steps} (the run length passed when" in message, (path, message)


def test_the_issues_command_line_fails_in_the_trainer_as_in_lrview():
    # examples/train.py steps=300 scheduler.decay_steps=100 scheduler.cooldown_start=50
    # scheduler.cooldown_steps=20: 0.2.0 trained over 300 steps while lrview drew 100.
    fields = dict(lr=1e-2, name="cosine", decay_steps=100, cooldown_start=50, cooldown_steps=20)
    messages = {
        path: str(builder_error(build, fields, 300)) for path, build in RUN_LENGTH_PATHS.items()
    }
    for path in ("instantiate", "build_lr_scheduler(DictConfig)", "lrview"):
        assert messages[path].startswith(
            "scheduler.decay_steps=100 (set in the config) and run_steps=300 (the run length "
            "passed when the schedule is built) disagree: leave scheduler.decay_steps unset to "
            "take the run length, or set it to 300"
        ), (path, messages[path])
    assert messages["lrview"].endswith("(lrview passes steps=300 as run_steps)")


@pytest.mark.parametrize("run_steps", [0, -5, 2**63, 1.5, "300", True, np.float64(300.0)])
def test_a_run_length_that_is_not_a_step_count_is_refused_on_every_path(run_steps):
    fields = dict(lr=1.0, name="cosine")
    for path, build in RUN_LENGTH_PATHS.items():
        error = builder_error(build, fields, run_steps)
        assert error.field == "run_steps", path
        assert str(error).startswith(f"run_steps={run_steps!r} is invalid"), (path, str(error))


def test_a_derived_message_says_that_decay_steps_is_the_run_length():
    fields = dict(lr=1.0, name="cosine", warmup_steps=40, cooldown_steps=70)
    for path, build in RUN_LENGTH_PATHS.items():
        message = str(builder_error(build, fields, 100))
        assert "decay_steps is the run length, run_steps=100)" in message, (path, message)


@pytest.mark.parametrize("path", sorted(RUNTIME_PATHS))
def test_0_2_0s_decay_steps_keyword_is_the_run_length_and_must_agree_with_the_config(path):
    # Issue 19: instantiate(cfg.scheduler, decay_steps=steps) over a config that sets another
    # decay_steps silently trained another schedule than lrview showed. Both are now named.
    build = RUNTIME_PATHS[path]
    with pytest.raises(
        (ScheduleConfigError, InstantiationException),
        match=r"decay_steps=10 \(set in the config\) and decay_steps=20 \(passed to ",
    ):
        build(dict(lr=1.0, name="linear", decay_steps=10), decay_steps=20)
    # The same value, or a config that leaves it unset: the keyword is the run length.
    assert quiet(build, dict(lr=1.0, name="linear", decay_steps=20), decay_steps=20)(10) == 0.5
    assert quiet(build, dict(lr=1.0, name="linear"), decay_steps=np.int64(20))(10) == 0.5


def test_the_0_2_0_keyword_is_checked_against_a_nested_node_and_an_interpolation():
    root = OmegaConf.create({"steps": 10})
    root.scheduler = hydra_option(dict(lr=1.0, name="linear", decay_steps="${steps}"))
    with pytest.raises(InstantiationException, match=r"scheduler\.decay_steps=10 .*=20"):
        instantiate(root.scheduler, decay_steps=20)
    with pytest.raises(InstantiationException, match=r"scheduler\.decay_steps=10 .*=30"):
        instantiate(root, scheduler={"decay_steps": 30}, _convert_="none")
    assert instantiate(root.scheduler, decay_steps=10)(5) == 0.5
    text = OmegaConf.to_yaml(root)  # a saved config: the interpolation is read where it stands
    assert load_schedule(text, key="scheduler", decay_steps=10)(5) == 0.5
    with pytest.raises(ScheduleConfigError, match=r"scheduler\.decay_steps=10 .*=30"):
        load_schedule(text, key="scheduler", decay_steps=30)


def test_run_steps_and_the_0_2_0_keyword_given_together_must_agree():
    node = hydra_option(dict(lr=1.0, name="linear"))
    assert instantiate(node, decay_steps=20, run_steps=20)(10) == 0.5
    with pytest.raises(InstantiationException, match=r"decay_steps=20 .* run_steps=30"):
        instantiate(node, decay_steps=20, run_steps=30)


@pytest.mark.parametrize(
    "fields",
    [
        dict(lr=-1.0),
        dict(lr=1.0, name="cosine", cooldown_shape="1-sqrt"),
        dict(lr=1.0, warmup_steps=0.05, decay_steps=100),
        dict(lr=1.0, name="cosine", decay_steps=50, warmup_fraction=0.05, cooldown_steps=100),
        dict(lr=1.0, name="cosine"),
    ],
)
def test_an_app_and_lrview_give_the_same_message_for_the_same_config(fields):
    # instantiate (an app) and build_lr_scheduler of the node (lrview) name fields alike.
    node = mounted(hydra_option(fields))
    from_app = builder_error(instantiate, node)
    from_viewer = builder_error(build_lr_scheduler, node)
    assert str(from_app) == str(from_viewer)
    assert str(from_app).startswith("scheduler."), str(from_app)


@given(composed_configs())
def test_composed_configs_take_the_run_length_alike_on_every_path(case):
    # Restarts, milestones, stages and a branched cooldown (cooldown_start_fraction too), the
    # run length given at runtime: the reference's values on every path.
    D = case["decay_steps"]
    without = {k: v for k, v in case.items() if k != "decay_steps"}
    try:
        first = quiet(build_lr_scheduler, case)
    except ScheduleConfigError:
        assume(False)
    config = reference_config(case)
    steps = range(-1, D + config.get("cooldown_start", 0) + 8)
    want = [composed_lr(step, **config) for step in steps]
    assert all(
        math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-15)
        for a, b in zip([first(s) for s in steps], want, strict=True)
    )
    for path, build in RUN_LENGTH_PATHS.items():
        schedule = quiet(build, without, D)
        assert schedule.config == first.config, path
        assert [schedule(s) for s in steps] == [first(s) for s in steps], path
