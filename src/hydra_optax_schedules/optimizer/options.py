"""The options of Hydra's ``optimizer`` group: one typed dataclass per optimizer name.

Each option is generated from ``OptimizerConfig``'s fields, so its fields and defaults cannot
drift from it. Every option has every field, as the ``scheduler`` group's options do, so
``-m optimizer=sgd,adamw optimizer.beta2=0.99`` composes on each and the builder warns
(``IgnoredFieldWarning``) where a field has no effect (``beta2`` on ``sgd``). A misspelt key
composes too (``hydra_options.open_node``), and the builder refuses it naming the fields it
may mean (``optimizer.beta3 is not an optimizer field; did you mean beta1 or beta2?``).
``_target_`` names the builder with ``_recursive_: false``, so the builder gets the
``scheduler`` nodes unbuilt and builds each with the run length a trainer gives:
``hydra.utils.instantiate(cfg.optimizer, run_steps=n)`` returns ``(tx, schedule)``.

The optimizer's ``scheduler`` is the app's ``scheduler`` node (``${oc.select:scheduler,null}``):
``scheduler=cosine scheduler.lr=3e-4`` sets the optimizer's schedule. In an app without a
``scheduler`` node it is ``null``, and building the optimizer says what to add. Parameter
groups are typed nodes that OmegaConf creates when they are set, so a misspelt key in one is
OmegaConf's error at compose time; the plateau is a plain node
(``optimizer.plateau={patience:5}``), whose keys the builder checks.

The plugin (``hydra_plugins/hydra_optax_schedules``) serves them; this module imports nothing
heavy.
"""

from __future__ import annotations

import dataclasses
from dataclasses import field
from typing import Any, Dict, List, Optional  # noqa: UP035  OmegaConf reads typing's forms

from omegaconf import MISSING, DictConfig, OmegaConf

from hydra_optax_schedules.hydra_options import open_node, option_dataclass
from hydra_optax_schedules.optimizer.config import (
    OPTIMIZER_NAMES,
    OptimizerConfig,
    ParamGroupConfig,
)

__all__ = [
    "OPTIMIZER_OPTION_CLASSES",
    "OPTIMIZER_TARGET",
    "SCHEDULER_NODE",
    "OptimizerOption",
    "ParamGroupOption",
    "optimizer_option_node",
]

#: The ``_target_`` of every option: the builder, by its public path.
OPTIMIZER_TARGET = "hydra_optax_schedules.optimizer.build_optimizer_from_fields"
#: The default of an option's ``scheduler``: the app's ``scheduler`` node, or null without one.
SCHEDULER_NODE = "${oc.select:scheduler,null}"


class OptimizerOption:
    """Base class of the ``optimizer`` group's options (one generated dataclass per name)."""


def _make(name: str, fields: list[tuple[str, Any, Any]], doc: str, **kwargs: Any) -> type:
    return option_dataclass(__name__, name, fields, doc, **kwargs)


def _option_type(annotation: str) -> Any:
    """A field's type in an option: booleans and strings keep theirs, numbers are ``Any`` (so
    that NumPy and JAX scalars reach the builder, which checks every value), patterns are a
    string or a list of strings (``Any``)."""
    if annotation == "bool":
        return bool
    if annotation == "str | None":
        return Optional[str]  # noqa: UP045  OmegaConf reads typing's forms
    return Any


def _fields_of(config_class: type, defaults: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    return [
        (f.name, _option_type(str(f.type)), field(default=defaults.get(f.name, f.default)))
        for f in dataclasses.fields(config_class)
    ]


#: ``ParamGroupConfig`` as a typed node; ``match`` is mandatory.
ParamGroupOption: Any = _make(
    "ParamGroupOption",
    _fields_of(ParamGroupConfig, {"match": MISSING}),
    "One group of an optimizer option's ``param_groups``.",
)


def optimizer_option_class(name: str) -> type[OptimizerOption]:
    """The dataclass of optimizer ``name``'s option, from ``OptimizerConfig``'s fields."""
    fields: list[tuple[str, Any, Any]] = []
    for config_field in dataclasses.fields(OptimizerConfig):
        annotation: Any = _option_type(str(config_field.type))
        default: Any = field(default=config_field.default)
        if config_field.name == "name":
            annotation, default = str, field(default=name)
        elif config_field.name == "scheduler":
            default = field(default=SCHEDULER_NODE)
        elif config_field.name == "param_groups":
            annotation = Dict[str, ParamGroupOption]  # noqa: UP006
            default = field(default_factory=dict)
        elif config_field.name == "plateau":
            # A plain node, not Optional[<typed node>]: OmegaConf 2.3 cannot merge a mapping
            # into a typed node that is None (``optimizer.plateau={patience:5}`` crashed). The
            # builder checks its keys and values first, naming ``optimizer.plateau.<key>``.
            annotation = Any
        elif config_field.name.startswith("weight_decay_"):
            annotation = Optional[List[str]]  # noqa: UP006, UP045
        fields.append((config_field.name, annotation, default))
    fields.append(("_target_", str, field(default=OPTIMIZER_TARGET)))
    # The builder builds the schedules itself, each with the run length (``run_steps``).
    fields.append(("_recursive_", bool, field(default=False)))
    return _make(
        f"{name.title()}Option",
        fields,
        f"The ``{name}`` option of Hydra's ``optimizer`` group.",
        bases=(OptimizerOption,),
    )


#: The option dataclass of every optimizer name (``OPTIMIZER_OPTION_CLASSES["adamw"]``).
OPTIMIZER_OPTION_CLASSES: dict[str, type[OptimizerOption]] = {
    name: optimizer_option_class(name) for name in OPTIMIZER_NAMES
}


def optimizer_option_node(name: str) -> DictConfig:
    """Option ``name`` of the ``optimizer`` group, as the config Hydra composes: typed, and
    open to a key that is no field, which the builder names (``hydra_options.open_node``)."""
    option: Any = OPTIMIZER_OPTION_CLASSES[name]
    return open_node(OmegaConf.structured(option))
