"""Every way a config arrives gives the same schedule: one source of defaults.

A config reaches the builder as a ``SchedulerConfig``, a mapping, keywords of
``build_schedule``, a Hydra option (composed, instantiated, with the run length given at
``instantiate`` time as a NumPy or JAX integer), ``load_schedule`` (a mapping or YAML text)
or ``SchedulerConfig.from_dict`` (JSON). Fields left out take their defaults, which must be
the same on every path: ``decay_steps`` of 0 (the seed's default) or ``None`` is "not given",
and a family's own defaults (``wsd``'s 1-sqrt cooldown) apply however the config arrives.
"""

from __future__ import annotations

import dataclasses
import warnings

import hypothesis.strategies as st
import jax.numpy as jnp
import numpy as np
import pytest
from hydra.utils import instantiate
from hypothesis import given

from hydra_optax_schedules import (
    ScheduleConfigError,
    SchedulerConfig,
    build_lr_scheduler,
)
from hydra_optax_schedules.hydra_options import option_node

from support.entry_paths import PATHS, with_runtime_length
from support.generators import configs
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
        if D < 2**31:
            for name, run in with_runtime_length(fields, jnp.int32).items():
                runs[f"{name} jnp.int32"] = run
    return {path: quiet(run, fields) for path, run in runs.items()}


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
