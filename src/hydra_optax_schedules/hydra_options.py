"""The options of Hydra's ``scheduler`` group: one typed dataclass per family.

Each option is generated from ``SchedulerConfig``'s fields, so its fields and defaults cannot
drift from it: ``lr`` is mandatory (``???``), ``decay_steps`` is ``None`` until set or given
the run length by ``instantiate(cfg.scheduler, run_steps=n)``, every field is there
(``scheduler.power=3`` composes on every option, and warns where it has no effect), a field
the family defaults shows the family's value, and ``_target_`` names the builder, so
``hydra.utils.instantiate(cfg.scheduler)`` returns the schedule. A key that is no field
composes too (:func:`open_node`), and the builder refuses it naming the fields it may mean
(``scheduler.warmup is not a scheduler field; did you mean warmup_steps, ...``), as it does
from Python and YAML. The built-in options are named below (``CosineOption``, ...); a shape
registered as a family gets its option (``<Name>Option``) when it is registered.

The plugin (``hydra_plugins/hydra_optax_schedules``) serves them; this module imports nothing
heavy.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import field
from typing import Any, Optional

from omegaconf import MISSING, DictConfig, OmegaConf

from hydra_optax_schedules.config.families import (
    SCHEDULE_NAMES,
    default_for,
    family_fields,
    family_shape,
    shape_param_fields,
)
from hydra_optax_schedules.config.schema import SchedulerConfig, StageConfig, UnitsConfig
from hydra_optax_schedules.shapes import Shape, on_register

__all__ = [
    "BUILDER_TARGET",
    "OPTION_CLASSES",
    "ConstantOption",
    "CosineOption",
    "ExponentialOption",
    "InverseSqrtOption",
    "LinearOption",
    "MultistepOption",
    "PolynomialOption",
    "SchedulerOption",
    "StageOption",
    "StagesOption",
    "UnitsOption",
    "WsdOption",
    "open_node",
    "option_class",
    "option_node",
]

#: The ``_target_`` of every option: the builder, by its public path.
BUILDER_TARGET = "hydra_optax_schedules.build_schedule"


class SchedulerOption:
    """Base class of the ``scheduler`` group's options (one generated dataclass per family).

    ``OmegaConf.to_object(cfg.scheduler)`` returns one of them; ``build_lr_scheduler``
    accepts it like a ``SchedulerConfig``.
    """


#: Defaults in which an option differs from ``SchedulerConfig``.
OPTION_DEFAULTS: dict[str, Any] = {"lr": MISSING, "decay_steps": None}


def _option_type(annotation: str) -> Any:
    """A field's type in the options: ``Any`` for numbers, so that ``instantiate(cfg.scheduler,
    decay_steps=np.int64(n))`` (or a JAX scalar) reaches the builder, which checks every value;
    OmegaConf's typed nodes refuse NumPy and JAX scalars. A mapping of shape parameters where
    no shape types it is ``Any`` too: the builder checks that it is a mapping and its keys
    against the shape (OmegaConf 2.3 cannot set a key of, nor merge a mapping into, an
    ``Optional[Dict]`` node that is ``None``). Strings keep their type."""
    return Any if any(kind in annotation for kind in ("int", "float", "dict")) else annotation


def option_dataclass(
    module: str, name: str, fields: list[tuple[str, Any, Any]], doc: str, **kwargs: Any
) -> type:
    """A dataclass defined as attribute ``name`` of ``module``, so that it pickles by
    reference (joblib and submitit workers): how every option class of a group is made."""
    option = dataclasses.make_dataclass(name, fields, **kwargs)
    option.__module__ = module
    option.__doc__ = doc
    setattr(sys.modules[module], name, option)
    return option


def _make(name: str, fields: list[tuple[str, Any, Any]], doc: str, **kwargs: Any) -> type:
    return option_dataclass(__name__, name, fields, doc, **kwargs)


def _title(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))


#: ``StageConfig`` as the typed node of one stage in Hydra's config, so that
#: ``scheduler.stages.0.end=0.2`` overrides it and a typo in a stage's key is OmegaConf's error.
StageOption: Any = _make(
    "StageOption",
    [
        (f.name, _option_type(str(f.type)), field(default=f.default))
        for f in dataclasses.fields(StageConfig)
    ],
    "One stage of the ``stages`` option (``StageConfig``'s fields).",
)


#: ``UnitsConfig`` as a typed node, present on every option with its defaults (counted in
#: steps, no batch size: the same as no node), so that ``scheduler.units.unit=tokens``
#: composes on the command line; the builder names a key that is none of its fields.
UnitsOption: Any = _make(
    "UnitsOption",
    [
        (f.name, _option_type(str(f.type)), field(default=f.default))
        for f in dataclasses.fields(UnitsConfig)
    ],
    "What a run counts, and its batch size (``UnitsConfig``'s fields; docs/units.md).",
)


def _params_class(shape: Shape) -> type:
    """``<Shape>Params``: the typed node of a shape's ``shape_params``, each parameter with
    the shape's default (the builder names a key that is none of them)."""
    own = [p for p in shape.params if p not in shape_param_fields(shape)]
    return _make(
        f"{_title(shape.name)}Params",
        [(name, Any, field(default=shape.params[name])) for name in own],
        f"The parameters of the ``{shape.name}`` shape.",
    )


def option_class(family: str) -> type[SchedulerOption]:
    """The dataclass of ``family``'s option, generated from ``SchedulerConfig``'s fields.

    It has every field, so that ``scheduler.<field>=<value>`` composes on every option (a
    sweep across families shares its fields: ``-m scheduler=cosine,polynomial
    scheduler.power=3``). A field that only other families use keeps ``SchedulerConfig``'s
    default; set to another value, it has no effect, and the builder says so
    (``IgnoredFieldWarning``), as for a ``SchedulerConfig``.
    """
    defaults = {**OPTION_DEFAULTS, "name": family}
    defaults |= {name: default_for(family, name) for name in ("cooldown_shape",)}
    shape = family_shape(family)
    fields: list[tuple[str, Any, Any]] = []
    own = family_fields(family)
    for config_field in dataclasses.fields(SchedulerConfig):
        annotation: Any = _option_type(str(config_field.type))
        default = field(default=defaults.get(config_field.name, config_field.default))
        if config_field.name == "stages":  # typed stages, mandatory where they are the family
            annotation = list[StageOption] if "stages" in own else Optional[list[StageOption]]  # noqa: UP045
            default = field(default=MISSING if "stages" in own else None)
        elif config_field.name == "units":
            annotation, default = UnitsOption, field(default_factory=UnitsOption)
        elif config_field.name == "shape_params" and shape is not None and "shape_params" in own:
            annotation = _params_class(shape)
            default = field(default_factory=annotation)
        fields.append((config_field.name, annotation, default))
    fields += [
        ("_target_", "str", field(default=BUILDER_TARGET)),
        ("_partial_", "bool", field(default=False)),
    ]
    return _make(
        f"{_title(family)}Option",
        fields,
        f"The ``{family}`` option of Hydra's ``scheduler`` group.",
        bases=(SchedulerOption,),
    )


ConstantOption = option_class("constant")
LinearOption = option_class("linear")
CosineOption = option_class("cosine")
ExponentialOption = option_class("exponential")
PolynomialOption = option_class("polynomial")
InverseSqrtOption = option_class("inverse_sqrt")
WsdOption = option_class("wsd")
MultistepOption = option_class("multistep")
StagesOption = option_class("stages")

#: The option dataclass of every family, e.g. ``OPTION_CLASSES["cosine"]`` is ``CosineOption``;
#: a shape registered as a family adds its own.
OPTION_CLASSES: dict[str, type[SchedulerOption]] = {
    "constant": ConstantOption,
    "linear": LinearOption,
    "cosine": CosineOption,
    "exponential": ExponentialOption,
    "polynomial": PolynomialOption,
    "inverse_sqrt": InverseSqrtOption,
    "wsd": WsdOption,
    "multistep": MultistepOption,
    "stages": StagesOption,
}


def _add_option(shape: Shape) -> None:
    if SCHEDULE_NAMES.get(shape.name) == shape.name:
        OPTION_CLASSES[shape.name] = option_class(shape.name)
    else:
        OPTION_CLASSES.pop(shape.name, None)


for _family in dict.fromkeys(SCHEDULE_NAMES.values()):
    if _family not in OPTION_CLASSES:  # shapes registered before this module was imported
        OPTION_CLASSES[_family] = option_class(_family)
on_register(_add_option)


def open_node(node: DictConfig) -> DictConfig:
    """``node``, a typed option, with OmegaConf's ``struct`` flag set to False on itself and
    on every typed node in it (``units``, a shape's parameters), so that a key that is no
    field composes and reaches the builder, which names it and the fields it may mean.

    OmegaConf refuses a key that a typed node lacks ("Key 'warmup' not in 'CosineOption'")
    unless the node's own ``struct`` flag is False (``DictConfig._validate_get``). The flag is
    the node's metadata: a copy keeps it and a merge carries it to the node merged into
    (``BaseContainer._map_merge``), so it holds through Hydra's composition (the defaults
    list, a user's option extending ours, a package ``@``) and in every job of a sweep. The
    fields keep their types, and reading a key that is not there still raises. A stage and an
    optimizer's parameter group, typed nodes OmegaConf creates from their class when a list or
    mapping is set, keep OmegaConf's error; so does a node made from an option's class
    (``ConfigStore.instance().store(node=CosineOption)``).
    """
    OmegaConf.set_struct(node, False)
    for key in map(str, node):
        if OmegaConf.is_missing(node, key) or OmegaConf.is_interpolation(node, key):
            continue
        child = node[key]
        if isinstance(child, DictConfig) and dataclasses.is_dataclass(OmegaConf.get_type(child)):
            open_node(child)
    return node


def option_node(name: str) -> DictConfig:
    """Option ``name`` of the ``scheduler`` group, as the config Hydra composes: typed, and
    open to a key that is no field (:func:`open_node`)."""
    option: Any = OPTION_CLASSES[SCHEDULE_NAMES[name]]
    return open_node(OmegaConf.structured(option(name=name)))
