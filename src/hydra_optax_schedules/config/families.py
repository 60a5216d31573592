"""The family table: every accepted ``name``, the family it selects, and the fields it uses.

A *family* is what ``name`` selects. Four are built from pieces of their own: ``constant``,
``wsd`` (constant, then its cooldown), ``multistep`` and ``stages``. Every other family is a
registered shape (:mod:`hydra_optax_schedules.shapes`) with the ``family`` role: over progress
it *decays* from ``lr`` to the end value, and may restart (``linear``, ``cosine``,
``exponential``, ``polynomial``, and shapes users register); over steps it runs as long as the
run (``inverse_sqrt``). The table grows when a shape is registered, so a user's shape is a
family everywhere at once: Python, Hydra's options, ``--help``, the loader, the viewer.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from hydra_optax_schedules.config.schema import SchedulerConfig
from hydra_optax_schedules.shapes import SHAPES, Shape, on_register, shapes_for

__all__ = [
    "ALIASES",
    "FAMILY_DEFAULTS",
    "SCHEDULE_NAMES",
    "STRUCTURAL",
    "WSD_COOLDOWN_FRACTION",
    "canonical_name",
    "decaying_families",
    "default_for",
    "family_fields",
    "family_shape",
    "is_decaying",
    "restarting_families",
    "restarts",
    "shape_arguments",
    "shape_param_fields",
]

#: The families made of pieces of their own (not one shape).
STRUCTURAL = ("constant", "wsd", "multistep", "stages")
#: xlstm-jax's names of two families.
ALIASES = {"cosine_decay": "cosine", "exponential_decay": "exponential"}

#: Every accepted ``name``, mapped to the schedule family it selects: the built-in ones in the
#: order the docs list them, then each shape registered as a family. Kept up to date by
#: :func:`hydra_optax_schedules.register_shape`.
SCHEDULE_NAMES: dict[str, str] = {}

#: The defaults of fields whose ``SchedulerConfig`` default is ``None``, "the family's
#: default": the one place they are written. ``default_for`` reads them, for the builder and
#: for the options alike, so a family has the same defaults however its config arrives.
FAMILY_DEFAULTS: dict[str, dict[str, Any]] = {
    "*": {"cooldown_shape": "linear"},
    "wsd": {"cooldown_shape": "sqrt"},
}
#: The cooldown of a ``wsd`` schedule given neither ``cooldown_steps`` nor ``cooldown_fraction``.
#: A family default rather than an option default, so ``scheduler=wsd
#: scheduler.cooldown_steps=200`` is not "both set".
WSD_COOLDOWN_FRACTION = 0.2

_CONFIG_FIELDS = frozenset(f.name for f in dataclasses.fields(SchedulerConfig))
#: Fields of the decaying families only: their restarts.
_CYCLE_FIELDS = ("cycles", "cycle_mult", "cycle_decay", "rewarmup_steps", "rewarmup_fraction")
#: Fields of one structural family only.
_STRUCTURAL_FIELDS = {
    "milestones": "multistep",
    "milestone_fractions": "multistep",
    "decay_factor": "multistep",
    "stages": "stages",
}


def canonical_name(name: Any) -> str | None:
    """The family that ``name`` selects (``"cosine_decay"`` -> ``"cosine"``), or None."""
    return SCHEDULE_NAMES.get(name) if isinstance(name, str) else None


def family_shape(family: str) -> Shape | None:
    """The shape of a family's main phase, or None for a structural family."""
    return None if family in STRUCTURAL else SHAPES[family]


def is_decaying(family: str) -> bool:
    """Whether the family's main phase decays from ``lr`` to the end value ``E`` (and may
    restart): a shape over progress."""
    shape = family_shape(family)
    return shape is not None and shape.over == "progress"


def restarts(family: str) -> bool:
    """Whether the family may restart (``cycles > 1``): a decaying family, each cycle a decay
    from its peak, or ``wsd``, each cycle a warmup-stable-decay (WSD-S)."""
    return family == "wsd" or is_decaying(family)


def restarting_families() -> tuple[str, ...]:
    """The families that restart, for messages: ``linear, cosine, ..., wsd``."""
    return (*decaying_families(), "wsd")


def decaying_families() -> tuple[str, ...]:
    """The decaying families, for messages: ``linear, cosine, exponential, polynomial``, ..."""
    return tuple(family for family in dict.fromkeys(SCHEDULE_NAMES.values()) if is_decaying(family))


def shape_param_fields(shape: Shape) -> tuple[str, ...]:
    """The parameters of ``shape`` that are ``SchedulerConfig`` fields of their own (``power``,
    ``timescale``); its other parameters are set in ``shape_params``."""
    return tuple(name for name in shape.params if name in _CONFIG_FIELDS)


def family_fields(family: str) -> tuple[str, ...]:
    """The ``SchedulerConfig`` fields that ``family`` uses: every field but those only other
    families use (a shape's parameter fields, restarts, milestones, stages)."""
    shape = family_shape(family)
    own = set(shape_param_fields(shape)) if shape is not None else set()
    if restarts(family):
        own |= set(_CYCLE_FIELDS)
    if shape is not None and set(shape.params) - own:
        own.add("shape_params")
    only_some = {"power", "timescale", "shape_params", *_CYCLE_FIELDS, *_STRUCTURAL_FIELDS}
    return tuple(
        f.name
        for f in dataclasses.fields(SchedulerConfig)
        if f.name not in only_some or f.name in own or _STRUCTURAL_FIELDS.get(f.name) == family
    )


def default_for(family: str, field_name: str) -> Any:
    """The default of ``field_name`` in ``family`` where ``SchedulerConfig`` leaves it to the
    family (``default_for("wsd", "cooldown_shape") == "sqrt"``)."""
    return FAMILY_DEFAULTS.get(family, {}).get(field_name, FAMILY_DEFAULTS["*"][field_name])


def _add_family(shape: Shape) -> None:
    if "family" in shape.roles:
        SCHEDULE_NAMES[shape.name] = shape.name
    elif SCHEDULE_NAMES.get(shape.name) == shape.name and shape.name not in STRUCTURAL:
        del SCHEDULE_NAMES[shape.name]  # a user's shape registered again, without the role


# The built-in names in the order of the docs, then every shape registered as a family.
for _name in ("constant", *shapes_for("family"), "wsd", "multistep", "stages"):
    SCHEDULE_NAMES[_name] = _name
    for _alias, _family in ALIASES.items():
        if _family == _name:
            SCHEDULE_NAMES[_alias] = _family
on_register(_add_family)


def shape_arguments(shape_name: str, owner: Any = None) -> tuple[tuple[str, float], ...]:
    """The value of each parameter of shape ``shape_name`` where ``owner`` (a normalized
    config or stage, or None for a warmup or cooldown) uses it: its field of the same name
    (``power``), else its ``shape_params``, else the shape's default."""
    shape = SHAPES[shape_name]
    given = {} if owner is None or owner.shape_params is None else owner.shape_params
    fields = () if owner is None else {f.name for f in dataclasses.fields(owner)}
    return tuple(
        (name, float(getattr(owner, name) if name in fields else given.get(name, default)))
        for name, default in shape.params.items()
    )
