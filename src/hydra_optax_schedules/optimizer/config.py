"""What a user writes for the optimizer: its config, its parameter groups, its plateau.

``OptimizerConfig`` is xlstm-jax's config (``trainer/optimizer/optimizer.py``), field for field
and with its defaults, followed by this project's additions: parameter groups, layer-wise LR
decay and a plateau. What each value may be is checked by :mod:`.check`; what each field means
for each optimizer name is ``docs/optimizer.md``.

This module imports nothing heavy: Hydra loads it when an app uses the ``optimizer`` group.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from hydra_optax_schedules.config.coerce import HYDRA_KEYS
from hydra_optax_schedules.config.schema import SchedulerConfig
from hydra_optax_schedules.errors import ScheduleConfigError
from hydra_optax_schedules.messages import missing_required, unknown_field
from hydra_optax_schedules.values import show

__all__ = [
    "DECOUPLED",
    "GROUP_FIELDS",
    "L2",
    "OPTIMIZER_FIELDS",
    "OPTIMIZER_NAMES",
    "PLATEAU_FIELDS",
    "OptimizerConfig",
    "ParamGroupConfig",
    "PlateauConfig",
]

ConfigT = TypeVar("ConfigT")

#: Names whose ``weight_decay`` is decoupled (AdamW's rule): the weights shrink by
#: ``schedule(t) * weight_decay`` of themselves at step ``t``, apart from the gradient step.
DECOUPLED = ("adamw", "nadamw", "adamaxw")
#: Names whose ``weight_decay`` is an L2 penalty: ``weight_decay * p`` is added to the
#: gradient before the optimizer (PyTorch's ``Adam(weight_decay=...)`` / ``SGD``).
L2 = ("adam", "sgd", "nadam", "adamax", "radam")
#: Every optimizer name: ``lamb`` adds its decay inside the trust ratio, as optax's ``lamb``.
OPTIMIZER_NAMES = ("adam", "adamw", "sgd", "nadam", "nadamw", "adamax", "adamaxw", "radam", "lamb")


@dataclass(frozen=True, kw_only=True)
class PlateauConfig:
    """``optax.contrib.reduce_on_plateau``'s arguments, with its defaults.

    The plateau's scale multiplies the scheduled learning rate (the schedule keeps running:
    a warmup is not cut short), starting at 1; the loss reaches it through optax's extra
    arguments, ``tx.update(grads, state, params, value=loss)``.
    """

    factor: float = 0.1
    patience: int = 10
    rtol: float = 1e-4
    atol: float = 0.0
    cooldown: int = 0
    accumulation_size: int = 1
    min_scale: float = 0.0


@dataclass(frozen=True, kw_only=True)
class ParamGroupConfig:
    """One parameter group: the parameters whose path one of ``match`` finds (``re.search``).

    Attributes:
        match: Regular expressions searched in each parameter's path (its keys joined with
            ``"."``, e.g. ``"params.head.kernel"``); groups are tried in order, the first
            that matches takes the parameter.
        lr_mult: The group's learning rate is ``lr_mult`` times the schedule's (> 0). It
            does not scale decoupled weight decay (``wd_mult`` does).
        wd_mult: The group's weight decay is ``wd_mult`` times ``weight_decay`` (>= 0).
        freeze: The group's parameters are not trained: zero updates, no optimizer state,
            and left out of the gradient-clipping norm.
        scheduler: The group's own schedule (a ``SchedulerConfig`` or its fields) instead of
            the optimizer's.
    """

    match: tuple[str, ...]
    lr_mult: float = 1.0
    wd_mult: float = 1.0
    freeze: bool = False
    scheduler: Any = None


@dataclass(frozen=True, kw_only=True)
class OptimizerConfig:
    """Configuration for the optimizer (xlstm-jax's ``OptimizerConfig``).

    Attributes:
        name: ``"adam"``, ``"adamw"``, ``"sgd"``, ``"nadam"``, ``"nadamw"``, ``"adamax"``,
            ``"adamaxw"``, ``"radam"`` or ``"lamb"``.
        scheduler: The learning-rate schedule: a ``SchedulerConfig``, a mapping or Hydra node
            of its fields, or a built ``Schedule``.
        beta1: Decay rate of the first moment (SGD: the momentum; 0 is none).
        beta2: Decay rate of the second moment (not used by ``sgd``).
        eps: Added to the denominator for numerical stability (not used by ``sgd``).
        weight_decay: ``adamw``, ``nadamw``, ``adamaxw``: decoupled, scaled by the schedule;
            ``lamb``: added to the update inside the trust ratio; ``adam``, ``sgd``,
            ``nadam``, ``adamax``, ``radam``: an L2 penalty added to the gradient.
        weight_decay_exclude: Regexes (``re.search`` on the path joined with ``"."``) of
            parameters without weight decay. Exclusive with ``weight_decay_include``.
        weight_decay_include: ... or of the only parameters with weight decay.
        grad_clip_norm: Clip the gradients of the trained parameters to this global norm.
        use_sharded_clip_norm: The norm over whole parameters, also when they are sharded
            (the only norm JAX's global arrays give under ``jit``; ``False`` is not offered).
        grad_clip_value: Clip each gradient element to ``[-value, value]``.
        nesterov: Nesterov momentum (``sgd`` only).
        param_groups: Ordered mapping of group name to ``ParamGroupConfig`` (or its fields).
        layer_decay: Layer-wise LR decay: layer ``i`` of ``L`` gets ``layer_decay ** (L-1-i)``
            times its group's learning rate. Needs ``layer_index``.
        layer_index: A regex whose first group, searched in a path, is the layer index.
        plateau: ``PlateauConfig`` (or its fields): reduce the LR when the loss plateaus.
    """

    name: str
    scheduler: Any
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0
    weight_decay_exclude: tuple[str, ...] | None = None
    weight_decay_include: tuple[str, ...] | None = None
    grad_clip_norm: float | None = None
    use_sharded_clip_norm: bool = True
    grad_clip_value: float | None = None
    nesterov: bool = False
    param_groups: Mapping[str, Any] | None = None
    layer_decay: float | None = None
    layer_index: str | None = None
    plateau: Any = None

    def get(self, key: str, default: Any = None) -> Any:
        """The value of field ``key``, or ``default`` if there is no such field."""
        return getattr(self, key, default)

    def to_dict(self) -> dict[str, Any]:
        """The config as plain data (dicts, lists, numbers, strings), for saving or logging."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @staticmethod
    def from_dict(
        config_class: type[ConfigT], data: Any, ignore_extensive_attributes: bool = True
    ) -> ConfigT:
        """``config_class`` (``OptimizerConfig``, ``ParamGroupConfig`` or ``PlateauConfig``)
        from a mapping of its fields (``to_dict``'s output); an optimizer's nested mappings
        become their classes (``SchedulerConfig``, ``ParamGroupConfig``, ``PlateauConfig``).

        Raises:
            ScheduleConfigError: A required field is missing, or a key is unknown and
                ``ignore_extensive_attributes`` is false.
        """
        if not isinstance(data, Mapping):
            raise ScheduleConfigError(
                f"cannot read a {config_class.__name__} from {type(data).__name__} "
                f"{show(data)}: expected a mapping of field names to values"
            )
        data = {key: value for key, value in data.items() if key not in HYDRA_KEYS}
        fields = {f.name: f for f in dataclasses.fields(config_class)}  # type: ignore[arg-type]
        kind = _KINDS[config_class.__name__]
        for key in data:
            if key not in fields and not ignore_extensive_attributes:
                raise unknown_field("", key, fields, kind)
        for name, declared in fields.items():
            if declared.default is dataclasses.MISSING and name not in data:
                raise missing_required("", name)
        values = {key: value for key, value in data.items() if key in fields}
        return config_class(**_nested(values, ignore_extensive_attributes))


def _nested(values: dict[str, Any], ignore: bool) -> dict[str, Any]:
    """``values`` with nested mappings read as their classes, lists of patterns as tuples."""
    values = dict(values)
    scheduler = values.get("scheduler")
    if isinstance(scheduler, Mapping):
        values["scheduler"] = SchedulerConfig.from_dict(
            SchedulerConfig, scheduler, ignore_extensive_attributes=ignore
        )
    for key in ("match", "weight_decay_exclude", "weight_decay_include"):
        if isinstance(values.get(key), list):
            values[key] = tuple(values[key])
    groups = values.get("param_groups")
    if isinstance(groups, Mapping):
        values["param_groups"] = {
            name: OptimizerConfig.from_dict(ParamGroupConfig, group, ignore)
            if isinstance(group, Mapping)
            else group
            for name, group in groups.items()
        }
    if isinstance(values.get("plateau"), Mapping):
        values["plateau"] = OptimizerConfig.from_dict(PlateauConfig, values["plateau"], ignore)
    return values


#: What a message calls a field of these classes ("not an optimizer field").
_KINDS = {
    "OptimizerConfig": "optimizer",
    "ParamGroupConfig": "parameter group",
    "PlateauConfig": "plateau",
}
#: Every field of each class, in order.
OPTIMIZER_FIELDS = tuple(f.name for f in dataclasses.fields(OptimizerConfig))
GROUP_FIELDS = tuple(f.name for f in dataclasses.fields(ParamGroupConfig))
PLATEAU_FIELDS = tuple(f.name for f in dataclasses.fields(PlateauConfig))


def _plain(value: Any) -> Any:
    """``value`` with sequences as lists and dataclasses (and a built schedule's config) as
    dicts, recursively."""
    config = getattr(value, "config", None)
    if callable(value) and config is not None and hasattr(config, "as_config"):
        value = config.as_config()  # a built Schedule: its SchedulerConfig
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value
