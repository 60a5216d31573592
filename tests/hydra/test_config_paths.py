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
import json
import warnings

import hypothesis.strategies as st
import jax.numpy as jnp
import numpy as np
import pytest
import yaml
from hydra.utils import instantiate
from hypothesis import given
from omegaconf import OmegaConf

from hydra_optax_schedules import (
    ScheduleConfigError,
    SchedulerConfig,
    build_lr_scheduler,
    build_schedule,
    load_schedule,
)
from hydra_optax_schedules.hydra_options import option_node

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


def hydra_option(fields):
    """The option Hydra composes for ``scheduler=<name>`` with ``scheduler.<field>=...``."""
    node = option_node(fields.get("name", "constant"))
    for field, value in fields.items():
        if field not in node:  # a field of another family: Hydra needs +scheduler.<field>
            OmegaConf.set_struct(node, False)
        node[field] = value
    return node


def every_path(fields):
    """The schedule each path builds from ``fields``, by path."""
    full = {**DEFAULTS, **fields}
    runs = {
        "dataclass": lambda: build_lr_scheduler(SchedulerConfig(**fields)),
        "mapping": lambda: build_lr_scheduler(dict(fields)),
        "build_schedule": lambda: build_schedule(**fields),
        "hydra option": lambda: instantiate(hydra_option(fields)),
        "hydra DictConfig": lambda: build_lr_scheduler(hydra_option(fields)),
        "load_schedule": lambda: load_schedule(dict(fields)),
        "load_schedule yaml": lambda: load_schedule(yaml.safe_dump(fields)),
        "from_dict": lambda: build_lr_scheduler(
            SchedulerConfig.from_dict(SchedulerConfig, json.loads(json.dumps(full)))
        ),
    }
    D = fields.get("decay_steps")
    if D:  # the run length given at runtime, as a training loop counts it
        later = {k: v for k, v in fields.items() if k != "decay_steps"}
        runs["instantiate(decay_steps=np.int64)"] = lambda: instantiate(
            hydra_option(later), decay_steps=np.int64(D)
        )
        if D < 2**31:
            runs["instantiate(decay_steps=jnp.int32)"] = lambda: instantiate(
                hydra_option(later), decay_steps=jnp.int32(D)
            )
        runs["load_schedule(decay_steps=...)"] = lambda: load_schedule(later, decay_steps=D)
    return {path: quiet(run) for path, run in runs.items()}


@given(partial_configs())
def test_every_path_builds_the_same_schedule(fields):
    schedules = every_path(fields)
    first = schedules["dataclass"]
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
