"""The one way into a config: a dataclass, a Hydra node or a mapping becomes its fields.

Every entry path (``build_lr_scheduler``, ``build_schedule`` and so ``instantiate``,
``load_schedule``, a stage given as a mapping) goes through here, so that an unknown key, a
stage's unknown key, a missing ``lr`` and a missing mandatory value (``???``) read the same
whichever way the config arrived.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, cast

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue

from hydra_optax_schedules.config.schema import SchedulerConfig, StageConfig
from hydra_optax_schedules.errors import ScheduleConfigError
from hydra_optax_schedules.messages import invalid, missing_required, unknown_field

__all__ = [
    "HYDRA_KEYS",
    "SCHEDULER_FIELDS",
    "STAGE_FIELDS",
    "dataclass_values",
    "scheduler_fields",
    "scheduler_key",
    "stage_fields",
    "values_of",
]

#: Every field of ``SchedulerConfig``, in order.
SCHEDULER_FIELDS = tuple(f.name for f in dataclasses.fields(SchedulerConfig))
#: Every field of ``StageConfig``, in order.
STAGE_FIELDS = tuple(f.name for f in dataclasses.fields(StageConfig))
#: Keys that ``hydra.utils.instantiate`` reads itself; a mapping may carry them.
HYDRA_KEYS = ("_target_", "_partial_", "_recursive_", "_convert_", "_args_")


def dataclass_values(instance: Any) -> dict[str, Any]:
    """The fields of dataclass ``instance`` (a field missing from an older pickle is unset:
    an option of 0.2.0 has no ``units``), then any other attribute set on it, for the caller
    to refuse by name: ``OmegaConf.to_object`` sets a key that a node has beyond its class's
    fields so (``scheduler.warmup=10`` on the command line composes)."""
    values = {f.name: getattr(instance, f.name, None) for f in dataclasses.fields(instance)}
    extra = getattr(instance, "__dict__", {})
    return values | {key: value for key, value in extra.items() if key not in values}


def values_of(config: Any, *, what: str) -> tuple[dict[str, Any], str]:
    """``(values, prefix)``: the keys and values of a dataclass, a ``DictConfig`` (resolved,
    its fields named by their full key: ``prefix`` is ``"scheduler."``) or a mapping.

    Raises:
        ScheduleConfigError: A ``DictConfig`` value is missing (``???``).
        TypeError: ``config`` is none of these (``what`` names the caller).
    """
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return dataclass_values(config), ""
    if isinstance(config, DictConfig):
        key = config._get_full_key(None)
        prefix = f"{key}." if key else ""
        try:
            values = OmegaConf.to_container(config, resolve=True, throw_on_missing=True)
        except MissingMandatoryValue as error:
            full_key = str(error.full_key)
            raise ScheduleConfigError(
                f"{full_key} is missing (???): set it, e.g. {full_key}=...", field=str(error.key)
            ) from None
        return cast("dict[str, Any]", values), prefix
    if isinstance(config, Mapping):
        return dict(config), ""
    raise TypeError(
        f"{what} expects a SchedulerConfig, a DictConfig or a mapping, got {type(config).__name__}"
    )


def scheduler_fields(
    values: Mapping[Any, Any], prefix: str, *, ignore: tuple[str, ...] = HYDRA_KEYS
) -> dict[str, Any]:
    """``values`` less the keys to ``ignore`` (Hydra's), checked to be scheduler fields with
    an ``lr``."""
    fields = {key: value for key, value in values.items() if key not in ignore}
    for key in fields:
        scheduler_key(prefix, key)
    if "lr" not in fields:
        raise missing_required(prefix, "lr")
    return fields


def scheduler_key(prefix: str, key: Any) -> str:
    """``key`` if it is a scheduler field, else the error that names the valid ones."""
    if key not in SCHEDULER_FIELDS:
        raise unknown_field(prefix, key, SCHEDULER_FIELDS, "scheduler")
    return str(key)


def stage_fields(prefix: str, field: str, value: Any) -> dict[str, Any]:
    """One stage (``StageConfig``, a mapping of its fields, or a stage's Hydra node) as its
    fields; ``field`` names where it sits (``"stages[1]"``)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclass_values(value)
    if not isinstance(value, Mapping):
        valid = f"expected a mapping of stage fields ({', '.join(STAGE_FIELDS)})"
        raise invalid(prefix, field, value, valid)
    for key in value:
        if key not in STAGE_FIELDS:
            raise unknown_field(prefix, f"{field}.{key}", STAGE_FIELDS, "stage")
    return dict(value)
