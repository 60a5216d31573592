"""An optimizer config, checked: every value in range, every pattern compiled, or an error.

``checked`` reads an ``OptimizerConfig``, a mapping of its fields or a Hydra node, and returns
a ``Checked`` whose values the builder uses as they are. Every mistake is a
``ScheduleConfigError`` naming the field (``optimizer.param_groups.head.lr_mult`` from Hydra),
its value and what is valid, raised before anything is built; a field without effect is an
``IgnoredFieldWarning``. It imports nothing heavy.
"""

from __future__ import annotations

import dataclasses
import math
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue

from hydra_optax_schedules.config.coerce import HYDRA_KEYS
from hydra_optax_schedules.errors import IgnoredFieldWarning, ScheduleConfigError
from hydra_optax_schedules.messages import (
    both_set,
    invalid,
    missing,
    missing_required,
    too_many,
    unknown_field,
)
from hydra_optax_schedules.optimizer.config import (
    GROUP_FIELDS,
    OPTIMIZER_FIELDS,
    OPTIMIZER_NAMES,
    PLATEAU_FIELDS,
    OptimizerConfig,
    ParamGroupConfig,
    PlateauConfig,
)
from hydra_optax_schedules.values import MAX_COUNT, MAX_LR, as_number, string_hint

__all__ = ["DEFAULT_GROUP", "Checked", "Group", "checked"]

#: The group of every parameter that no ``param_groups`` entry matches (a reserved name).
DEFAULT_GROUP = "default"


@dataclass(frozen=True)
class Group:
    """One parameter group, checked; ``where`` is its prefix (``optimizer.param_groups.head.``)."""

    name: str
    patterns: tuple[str, ...]
    lr_mult: float
    wd_mult: float
    freeze: bool
    scheduler: Any
    where: str


@dataclass(frozen=True)
class Checked:
    """An optimizer config whose every value is valid (``OptimizerConfig``'s fields, checked)."""

    name: str
    scheduler: Any
    beta1: float
    beta2: float
    eps: float
    weight_decay: float
    decay_patterns: tuple[str, ...] | None
    decay_include: bool
    grad_clip_norm: float | None
    grad_clip_value: float | None
    nesterov: bool
    groups: tuple[Group, ...]
    layer_decay: float | None
    layer_index: str | None
    plateau: PlateauConfig | None
    prefix: str


def checked(
    config: Any, *, what: str = "build_optimizer", prefix: str = "", warn: bool = True
) -> Checked:
    """``config`` (an ``OptimizerConfig``, a mapping of its fields, a Hydra node) checked; the
    fields of a mapping are named with ``prefix`` (``"optimizer."`` from ``instantiate``).
    ``warn=False`` checks without the warning: ``describe_param_groups`` shows a config that
    the builder checks (and warns about) where the optimizer is built.

    Raises:
        ScheduleConfigError: A field is unknown, missing or invalid.
        TypeError: ``config`` is none of these.

    Warns:
        IgnoredFieldWarning: Naming each field set to a value without effect.
    """
    values, prefix = _values(config, what, prefix)
    for key in values:
        if key not in OPTIMIZER_FIELDS:
            raise unknown_field(prefix, key, OPTIMIZER_FIELDS, "optimizer")
    for key in ("name", "scheduler"):
        if key not in values:
            raise missing_required(prefix, key)
    f = {**_defaults(OptimizerConfig), **values}
    name = f["name"]
    if not isinstance(name, str) or name.lower() not in OPTIMIZER_NAMES:
        raise invalid(prefix, "name", name, f"expected one of {', '.join(OPTIMIZER_NAMES)}")
    name = name.lower()
    if f["scheduler"] is None:
        raise missing(prefix, "scheduler", _NO_SCHEDULER)
    real = _Real(prefix)
    ignored: dict[str, Any] = {}
    beta1 = real("beta1", f["beta1"], "in [0, 1)", lambda x: 0 <= x < 1)
    beta2 = real("beta2", f["beta2"], "in [0, 1)", lambda x: 0 <= x < 1)
    eps = real("eps", f["eps"], "> 0", lambda x: x > 0)
    weight_decay = real("weight_decay", f["weight_decay"], ">= 0", lambda x: x >= 0)
    clip_norm = real.optional("grad_clip_norm", f["grad_clip_norm"], "> 0", lambda x: x > 0)
    clip_value = real.optional("grad_clip_value", f["grad_clip_value"], "> 0", lambda x: x > 0)
    nesterov = _flag(prefix, "nesterov", f["nesterov"])
    sharded = _flag(prefix, "use_sharded_clip_norm", f["use_sharded_clip_norm"])
    exclude = _patterns(prefix, "weight_decay_exclude", f["weight_decay_exclude"])
    include = _patterns(prefix, "weight_decay_include", f["weight_decay_include"])
    if exclude is not None and include is not None:
        raise both_set(prefix, "weight_decay_exclude", exclude, "weight_decay_include", include)
    if not sharded and clip_norm is not None:
        raise invalid(prefix, "use_sharded_clip_norm", False, _SHARDED)
    if not sharded:
        ignored["use_sharded_clip_norm"] = (False, "grad_clip_norm")
    if weight_decay == 0:
        for key, patterns in (("weight_decay_exclude", exclude), ("weight_decay_include", include)):
            if patterns is not None:
                ignored[key] = (patterns, "weight_decay > 0")
    if name == "sgd":
        for key, default in (("beta2", 0.999), ("eps", 1e-8)):
            if f[key] != default:
                ignored[key] = (f[key], "an optimizer other than sgd")
        if nesterov and beta1 == 0:
            ignored["nesterov"] = (True, "sgd's momentum beta1 > 0")
    elif nesterov:
        ignored["nesterov"] = (True, "name=sgd (nadam and nadamw are Nesterov's Adam)")
    layer_decay = real.optional("layer_decay", f["layer_decay"], "> 0", lambda x: x > 0)
    layer_index = _layer_index(prefix, f["layer_index"])
    if (layer_decay is None) != (layer_index is None):
        given, needed = ("layer_decay", "layer_index")
        if layer_decay is None:
            given, needed = needed, given
        raise missing(prefix, needed, f"{given} needs it (layer-wise LR decay)")
    if layer_decay == 1:
        ignored["layer_decay"] = (1.0, "a factor other than 1")
    groups = _groups(prefix, f["param_groups"], weight_decay, ignored)
    plateau = _plateau(prefix, f["plateau"])
    if ignored and warn:
        _warn(prefix, ignored)
    return Checked(
        name=name,
        scheduler=f["scheduler"],
        beta1=beta1,
        beta2=beta2,
        eps=eps,
        weight_decay=weight_decay,
        decay_patterns=include if include is not None else exclude,
        decay_include=include is not None,
        grad_clip_norm=clip_norm,
        grad_clip_value=clip_value,
        nesterov=nesterov and name == "sgd" and beta1 > 0,
        groups=groups,
        layer_decay=layer_decay,
        layer_index=layer_index,
        plateau=plateau,
        prefix=prefix,
    )


_NO_SCHEDULER = (
    "the optimizer needs a learning-rate schedule: a SchedulerConfig (or its fields); in a "
    "Hydra app, add a scheduler to the defaults list (- scheduler: cosine) or set "
    "optimizer.scheduler"
)
_SHARDED = (
    "the norm is always over whole parameters: under jit, JAX's global arrays give the norm "
    "of the whole array however it is sharded (the only norm offered); leave it true"
)


def _values(config: Any, what: str, mapping_prefix: str) -> tuple[dict[str, Any], str]:
    """The fields of ``config`` and the prefix that names them; a Hydra node keeps its
    ``scheduler`` nodes (so that their errors name their full keys)."""
    if isinstance(config, OptimizerConfig):
        return {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}, ""
    if isinstance(config, DictConfig):
        full_key = config._get_full_key(None)
        prefix = f"{full_key}." if full_key else ""
        values: dict[str, Any] = {}
        for key in config:
            name = str(key)
            node = _get(config, name, prefix)
            if isinstance(node, DictConfig) and name not in ("scheduler", "param_groups"):
                node = OmegaConf.to_container(node, resolve=True, throw_on_missing=True)
            elif not isinstance(node, DictConfig) and OmegaConf.is_config(node):
                node = OmegaConf.to_container(node, resolve=True)
            values[str(name)] = node
        return _without_hydra_keys(values), prefix
    if isinstance(config, Mapping):
        return _without_hydra_keys(dict(config)), mapping_prefix
    raise TypeError(
        f"{what} expects an OptimizerConfig, a DictConfig or a mapping, got {type(config).__name__}"
    )


def _get(node: DictConfig, key: str, prefix: str) -> Any:
    """``node[key]``, or the error that names a missing mandatory value (``???``)."""
    try:
        return node[key]
    except MissingMandatoryValue:
        raise ScheduleConfigError(
            f"{prefix}{key} is missing (???): set it, e.g. {prefix}{key}=...", field=key
        ) from None


def _without_hydra_keys(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if key not in HYDRA_KEYS}


def _defaults(config_class: type) -> dict[str, Any]:
    return {
        f.name: f.default
        for f in dataclasses.fields(config_class)
        if f.default is not dataclasses.MISSING
    }


class _Real:
    """Checks of real-valued fields: finite, within float32, and in their range."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def __call__(self, field: str, value: Any, valid: str, ok: Callable[[float], bool]) -> float:
        number = as_number(value)
        expected = f"expected a finite number {valid}{string_hint(value)}"
        if number is None or not math.isfinite(number) or abs(number) > MAX_LR:
            raise invalid(self.prefix, field, value, expected)
        if not ok(float(number)):
            raise invalid(self.prefix, field, value, expected)
        return float(number)

    def optional(
        self, field: str, value: Any, valid: str, ok: Callable[[float], bool]
    ) -> float | None:
        return None if value is None else self(field, value, f"{valid} (or null)", ok)


def _integer(prefix: str, field: str, value: Any, low: int) -> int:
    number = as_number(value)
    if not isinstance(number, int) or number < low or number > 2**31 - 1:
        expected = f"expected an integer >= {low} (and < 2**31){string_hint(value)}"
        raise invalid(prefix, field, value, expected)
    return number


def _flag(prefix: str, field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise invalid(prefix, field, value, "expected true or false")
    return value


def _compiled(prefix: str, field: str, pattern: Any) -> re.Pattern[str]:
    if not isinstance(pattern, str):
        raise invalid(prefix, field, pattern, "expected a regular expression (a string)")
    try:
        return re.compile(pattern)
    except re.error as error:
        raise invalid(prefix, field, pattern, f"not a regular expression ({error})") from None


def _patterns(prefix: str, field: str, value: Any) -> tuple[str, ...] | None:
    """``None``, or a non-empty tuple of regexes (one string is one pattern)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, Sequence) or not value:
        expected = "expected a non-empty list of regular expressions (or null)"
        raise invalid(prefix, field, value, expected)
    if len(value) > MAX_COUNT:  # before any pattern is compiled
        raise too_many(prefix, field, len(value), "patterns")
    for i, pattern in enumerate(value):
        _compiled(prefix, f"{field}[{i}]", pattern)
    return tuple(value)


def _layer_index(prefix: str, value: Any) -> str | None:
    if value is None:
        return None
    if _compiled(prefix, "layer_index", value).groups < 1:
        expected = "expected a regular expression with a group that captures the layer index"
        raise invalid(prefix, "layer_index", value, expected + r", e.g. 'layers\.(\d+)\.'")
    return cast(str, value)


def _fields_of(
    prefix: str, field: str, value: Any, kind_class: type, valid: tuple[str, ...], kind: str
) -> dict[str, Any]:
    """A nested config (a dataclass, a mapping or a Hydra node) at ``prefix + field`` as its
    fields, keys checked."""
    where = f"{prefix}{field}."
    if isinstance(value, kind_class):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(cast(Any, value))}
    if not isinstance(value, Mapping):
        expected = f"expected a mapping of {kind} fields ({', '.join(valid)})"
        raise invalid(prefix, field, value, expected)
    if isinstance(value, DictConfig):
        items = {str(k): _get(value, str(k), where) for k in value if k not in HYDRA_KEYS}
    else:
        items = {str(k): v for k, v in value.items() if k not in HYDRA_KEYS}
    for key in items:
        if key not in valid:
            raise unknown_field(where, key, valid, kind)
    return items


def _groups(
    prefix: str, value: Any, weight_decay: float, ignored: dict[str, Any]
) -> tuple[Group, ...]:
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        raise invalid(prefix, "param_groups", value, "expected a mapping of group name to group")
    if len(value) > MAX_COUNT:  # before any group is read
        raise too_many(prefix, "param_groups", len(value), "groups")
    groups = []
    for name, node in value.items():
        where = f"{prefix}param_groups.{name}."
        if not isinstance(name, str) or name == DEFAULT_GROUP or not name:
            valid = f"a group's name is a non-empty string other than {DEFAULT_GROUP!r} (reserved"
            raise invalid(prefix, "param_groups", name, valid + " for unmatched parameters)")
        scheduler = node.get("scheduler") if isinstance(node, DictConfig) else None
        f = _fields_of(
            f"{prefix}param_groups.", name, node, ParamGroupConfig, GROUP_FIELDS, "parameter group"
        )
        if isinstance(node, DictConfig):
            f = {**f, "scheduler": scheduler}
        if "match" not in f:
            raise missing(where, "match", "a group's regexes, searched in each parameter's path")
        f = {**_defaults(ParamGroupConfig), **f}
        patterns = _patterns(where, "match", f["match"])
        if patterns is None:
            raise missing(where, "match", "a group's regexes, searched in each parameter's path")
        real = _Real(where)
        lr_mult = real(
            "lr_mult",
            f["lr_mult"],
            "> 0 (to stop training a group, set freeze: true)",
            lambda x: x > 0,
        )
        wd_mult = real("wd_mult", f["wd_mult"], ">= 0", lambda x: x >= 0)
        freeze = _flag(where, "freeze", f["freeze"])
        if freeze:
            for key, default in (("lr_mult", 1.0), ("wd_mult", 1.0), ("scheduler", None)):
                if f[key] != default:
                    ignored[f"param_groups.{name}.{key}"] = (f[key], "freeze: false")
        elif weight_decay == 0 and wd_mult != 1:
            ignored[f"param_groups.{name}.wd_mult"] = (wd_mult, "weight_decay > 0")
        groups.append(Group(name, patterns, lr_mult, wd_mult, freeze, f["scheduler"], where))
    return tuple(groups)


def _plateau(prefix: str, value: Any) -> PlateauConfig | None:
    if value is None:
        return None
    where = f"{prefix}plateau."
    f = {
        **_defaults(PlateauConfig),
        **_fields_of(prefix, "plateau", value, PlateauConfig, PLATEAU_FIELDS, "plateau"),
    }
    real = _Real(where)
    plateau = PlateauConfig(
        factor=real("factor", f["factor"], "in (0, 1)", lambda x: 0 < x < 1),
        patience=_integer(where, "patience", f["patience"], 0),
        rtol=real("rtol", f["rtol"], "in [0, 1]", lambda x: 0 <= x <= 1),
        atol=real("atol", f["atol"], ">= 0", lambda x: x >= 0),
        cooldown=_integer(where, "cooldown", f["cooldown"], 0),
        accumulation_size=_integer(where, "accumulation_size", f["accumulation_size"], 1),
        min_scale=real("min_scale", f["min_scale"], "in [0, 1]", lambda x: 0 <= x <= 1),
    )
    if plateau.rtol == 0 and plateau.atol == 0:
        raise invalid(where, "atol", 0.0, "rtol and atol are both 0: set one of them > 0")
    return plateau


def _warn(prefix: str, ignored: dict[str, Any]) -> None:
    from hydra_optax_schedules.schedule import _stacklevel_outside_package

    settings = ", ".join(f"{prefix}{field}={value!r}" for field, (value, _) in ignored.items())
    needs = "; ".join(f"{field} needs {needs}" for field, (_, needs) in ignored.items())
    verb = "has" if len(ignored) == 1 else "have"
    warnings.warn(
        f"{settings} {verb} no effect on this optimizer ({needs}); it is built as if unset",
        IgnoredFieldWarning,
        stacklevel=_stacklevel_outside_package(),
    )
