"""Every way a config reaches the builder, once: the registry the tests of "the same on every
path" share (``tests/core/test_bad_inputs.py``, ``tests/core/test_entry_points.py``,
``tests/hydra/test_config_paths.py``, ``tests/jax/test_inputs.py``).

``PATHS`` maps a path's name to an ``EntryPath``, whose ``build(fields)`` gives the
``Schedule`` that path builds from a mapping of fields (or raises what it raises):

- ``SchedulerConfig``: ``build_lr_scheduler(SchedulerConfig(**fields))``
- ``mapping``: ``build_lr_scheduler(dict(fields))``
- ``DictConfig``: ``build_lr_scheduler`` of a ``scheduler`` node of a ``DictConfig``
  (its fields named by their full key, ``scheduler.lr``); ``DictConfig(root)``: a
  ``DictConfig`` that is the whole config, as ``OmegaConf.load`` gives a file
- ``build_schedule``: ``build_schedule(**fields)``
- ``from_dict``: ``SchedulerConfig.from_dict`` of the mapping as given, strict (unknown keys
  are errors)
- ``from_dict(json)``: the whole config (the fields over the defaults) through JSON and back,
  as a saved config returns
- ``load_schedule``, ``load_schedule(yaml)``: ``load_schedule`` of the mapping, of YAML text
- ``hydra option``: the option Hydra composes for ``scheduler=<name>``, ``instantiate``-d
- ``hydra option DictConfig``: the same node, given to ``build_lr_scheduler``

``RUN_LENGTH_PATHS`` are the ways a trainer gives the run length it counts at runtime, the
keyword ``run_steps``: ``build(fields, run_steps)`` by ``build_schedule``, ``build_lr_scheduler``
(a ``SchedulerConfig``, a mapping, a ``DictConfig`` node), ``instantiate`` (and a
``_partial_`` one called later), ``load_schedule`` (a mapping, YAML text) and ``lrview``.
``with_run_steps`` makes them ``fields -> Schedule``: the config's ``decay_steps`` given as
``run_steps`` instead, or as well. ``RESUME_PATHS`` give the step a run resumed at beside it,
the keyword ``resume_step`` (``cooldown_start: resume``), a parameter group's own schedule
included.

``RUNTIME_PATHS`` are the paths that take fields when the schedule is built, as 0.2.0 passed
the run length (``instantiate(cfg.scheduler, decay_steps=n)``: it fills a ``decay_steps`` the
config leaves unset and must agree with one it sets): ``build(fields, **runtime)``.
``with_runtime_length`` makes them ``fields -> Schedule`` with ``decay_steps`` given at
runtime.

This module imports no JAX (the mutation selection imports it; ``docs/mutation.md``).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from hydra_optax_schedules import (
    Schedule,
    SchedulerConfig,
    build_lr_scheduler,
    build_schedule,
    load_schedule,
)
from hydra_optax_schedules.hydra_options import OPTION_CLASSES, SCHEDULE_NAMES, option_node

Fields = Mapping[str, Any]
DEFAULTS = {f.name: f.default for f in dataclasses.fields(SchedulerConfig)}


@dataclass(frozen=True)
class EntryPath:
    name: str
    build: Callable[[Fields], Schedule]
    # Goes through hydra.utils.instantiate, which wraps the builder's error in its own.
    hydra: bool = False
    # Names a field by its full key (scheduler.lr), as a DictConfig node knows it.
    full_key: bool = False
    # Holds plain data only (JSON, YAML, OmegaConf): no NumPy or JAX scalar gets through.
    plain_data: bool = False
    # Fills the fields left out with the defaults before the builder sees them.
    fills_defaults: bool = False


@functools.cache
def _option(name: str, option_class: type) -> DictConfig:
    """``option_node(name)``, made once per option class (a registered shape is a new one)."""
    return option_node(name)


def hydra_option(fields: Fields) -> DictConfig:
    """The option Hydra composes for ``scheduler=<name>`` with ``scheduler.<field>=...``: a
    copy of the typed option, as Hydra copies each node it loads (``ConfigStore.load``)."""
    name = fields.get("name", "constant")
    node = copy.deepcopy(_option(name, OPTION_CLASSES[SCHEDULE_NAMES[name]]))
    for field, value in fields.items():
        if field == "stages" and isinstance(value, list):  # typed stages, as Hydra merges them
            node = OmegaConf.merge(node, {"stages": value})
        elif field == "units" and isinstance(value, Mapping):  # the typed node, merged
            node = OmegaConf.merge(node, {"units": dict(value)})
        else:
            node[field] = value
    return node


def mounted(node: DictConfig) -> DictConfig:
    """``node`` as the ``scheduler`` node of an app's config, as Hydra composes it."""
    root: DictConfig = OmegaConf.create({"scheduler": node})
    return root.scheduler  # type: ignore[no-any-return]


def scheduler_node(fields: Fields) -> DictConfig:
    """``fields`` as the ``scheduler`` node of an app's ``DictConfig``."""
    node: DictConfig = OmegaConf.create({"scheduler": dict(fields)}).scheduler
    return node


def saved(fields: Fields) -> Any:
    """The whole config, the fields over the defaults, through JSON and back."""
    return json.loads(json.dumps({**DEFAULTS, **fields}))


def _paths(*paths: EntryPath) -> dict[str, EntryPath]:
    return {path.name: path for path in paths}


PATHS = _paths(
    EntryPath("SchedulerConfig", lambda f: build_lr_scheduler(SchedulerConfig(**f))),
    EntryPath("mapping", lambda f: build_lr_scheduler(dict(f))),
    EntryPath(
        "DictConfig",
        lambda f: build_lr_scheduler(scheduler_node(f)),
        full_key=True,
        plain_data=True,
    ),
    EntryPath(
        "DictConfig(root)",
        lambda f: build_lr_scheduler(OmegaConf.create(dict(f))),
        plain_data=True,
    ),
    EntryPath("build_schedule", lambda f: build_schedule(**f)),
    EntryPath(
        "from_dict",
        lambda f: build_lr_scheduler(
            SchedulerConfig.from_dict(SchedulerConfig, dict(f), ignore_extensive_attributes=False)
        ),
    ),
    EntryPath(
        "from_dict(json)",
        lambda f: build_lr_scheduler(SchedulerConfig.from_dict(SchedulerConfig, saved(f))),
        plain_data=True,
        fills_defaults=True,
    ),
    EntryPath("load_schedule", lambda f: load_schedule(dict(f))),
    EntryPath(
        "load_schedule(yaml)", lambda f: load_schedule(yaml.safe_dump(dict(f))), plain_data=True
    ),
    EntryPath(
        "hydra option",
        lambda f: instantiate(hydra_option(f)),
        hydra=True,
        plain_data=True,
        fills_defaults=True,
    ),
    EntryPath(
        "hydra option DictConfig",
        lambda f: build_lr_scheduler(hydra_option(f)),
        plain_data=True,
        fills_defaults=True,
    ),
)


def _lrview(fields: Fields, run_steps: Any) -> Schedule:
    """The viewer's build of a ``scheduler`` node with its ``steps`` (imported here: NumPy)."""
    from hydra_optax_schedules.viewer.app import build_with_run_length

    return build_with_run_length(scheduler_node(fields), run_steps)


RUN_LENGTH_PATHS: dict[str, Callable[[Fields, Any], Schedule]] = {
    "build_schedule": lambda f, n: build_schedule(**f, run_steps=n),
    "build_lr_scheduler(SchedulerConfig)": lambda f, n: build_lr_scheduler(
        SchedulerConfig(**f), run_steps=n
    ),
    "build_lr_scheduler(mapping)": lambda f, n: build_lr_scheduler(dict(f), run_steps=n),
    "build_lr_scheduler(DictConfig)": lambda f, n: build_lr_scheduler(
        scheduler_node(f), run_steps=n
    ),
    "instantiate": lambda f, n: instantiate(mounted(hydra_option(f)), run_steps=n),
    "instantiate(_partial_)": lambda f, n: instantiate(hydra_option(f), _partial_=True)(
        run_steps=n
    ),
    "load_schedule": lambda f, n: load_schedule(dict(f), run_steps=n),
    "load_schedule(yaml)": lambda f, n: load_schedule(yaml.safe_dump(dict(f)), run_steps=n),
    "lrview": _lrview,
}


def _lrview_resumed(fields: Fields, run_steps: Any, resume_step: Any) -> Schedule:
    """The viewer's build with its ``steps`` and ``resume_step`` (imported here: NumPy)."""
    from hydra_optax_schedules.viewer.app import build_with_run_length

    return build_with_run_length(scheduler_node(fields), run_steps, resume_step)


def _group_schedule(fields: Fields, run_steps: Any, resume_step: Any) -> Schedule:
    """A parameter group's own schedule, as the optimizer builds it (imported here: JAX)."""
    from hydra_optax_schedules.optimizer.build import optimizer_schedules

    config = {
        "name": "adamw",
        "scheduler": {"lr": 1.0},
        "param_groups": {"head": {"match": ["head"], "scheduler": dict(fields)}},
    }
    built = optimizer_schedules(config, run_steps=run_steps, resume_step=resume_step)
    return built["param_groups.head.scheduler"]


#: The ways a trainer gives the step it resumed at, beside the run length: ``build(fields,
#: run_steps, resume_step)`` (``cooldown_start: resume`` is that step).
RESUME_PATHS: dict[str, Callable[[Fields, Any, Any], Schedule]] = {
    "build_schedule": lambda f, n, r: build_schedule(**f, run_steps=n, resume_step=r),
    "build_lr_scheduler(SchedulerConfig)": lambda f, n, r: build_lr_scheduler(
        SchedulerConfig(**f), run_steps=n, resume_step=r
    ),
    "build_lr_scheduler(DictConfig)": lambda f, n, r: build_lr_scheduler(
        scheduler_node(f), run_steps=n, resume_step=r
    ),
    "instantiate": lambda f, n, r: instantiate(
        mounted(hydra_option(f)), run_steps=n, resume_step=r
    ),
    "load_schedule(yaml)": lambda f, n, r: load_schedule(
        yaml.safe_dump(dict(f)), run_steps=n, resume_step=r
    ),
    "lrview": _lrview_resumed,
    "optimizer group": _group_schedule,
}


def with_run_steps(
    fields: Fields, convert: Callable[[int], Any] = int, *, keep_decay_steps: bool = False
) -> dict[str, Callable[[Fields], Schedule]]:
    """The run-length paths as ``fields -> Schedule``: ``decay_steps`` given at runtime as
    ``run_steps=convert(decay_steps)`` (a NumPy or JAX integer, as a training loop counts),
    and left out of the config unless ``keep_decay_steps``."""
    return {
        f"{name}(run_steps=...)": (
            lambda f, build=build: build(
                {k: v for k, v in f.items() if keep_decay_steps or k != "decay_steps"},
                convert(f["decay_steps"]),
            )
        )
        for name, build in RUN_LENGTH_PATHS.items()
    }


RUNTIME_PATHS: dict[str, Callable[..., Schedule]] = {
    "instantiate": lambda fields, **runtime: instantiate(hydra_option(fields), **runtime),
    "load_schedule": lambda fields, **runtime: load_schedule(dict(fields), **runtime),
}


def with_runtime_length(
    fields: Fields, convert: Callable[[int], Any] = int
) -> dict[str, Callable[[Fields], Schedule]]:
    """The runtime paths as ``fields -> Schedule``: ``decay_steps`` left out of the config and
    given when the schedule is built, as ``convert(decay_steps)`` (a NumPy or JAX integer, as
    a training loop counts)."""
    return {
        f"{name}(decay_steps=...)": (
            lambda f, build=build: build(
                {k: v for k, v in f.items() if k != "decay_steps"},
                decay_steps=convert(f["decay_steps"]),
            )
        )
        for name, build in RUNTIME_PATHS.items()
    }
