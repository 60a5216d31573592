"""The scheduler configs: fields, defaults and what each one means.

``SchedulerConfig`` is xlstm-jax's config, field for field. ``HydraSchedulerConfig`` is the
same config as an option of Hydra's ``scheduler`` group: ``lr`` is mandatory (``???``),
``decay_steps`` may be filled in at runtime, and ``_target_`` names the builder, so
``hydra.utils.instantiate(cfg.scheduler)`` returns the schedule.

This module imports nothing heavy: Hydra's plugin scanner reaches it at every app start.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, TypeVar

from omegaconf import MISSING

__all__ = [
    "SCHEDULE_NAMES",
    "HydraSchedulerConfig",
    "SchedulerConfig",
    "canonical_name",
]

#: Every accepted ``name``, mapped to the schedule family it selects.
SCHEDULE_NAMES: dict[str, str] = {
    "constant": "constant",
    "linear": "linear",
    "cosine": "cosine",
    "cosine_decay": "cosine",
    "exponential": "exponential",
    "exponential_decay": "exponential",
}

BUILDER_TARGET = "hydra_optax_schedules.build_schedule"

ConfigT = TypeVar("ConfigT")


def canonical_name(name: str) -> str | None:
    """The family that ``name`` selects (``"cosine_decay"`` -> ``"cosine"``), or None."""
    return SCHEDULE_NAMES.get(name) if isinstance(name, str) else None


@dataclass
class SchedulerConfig:
    """Configuration for a learning-rate schedule (xlstm-jax's ``SchedulerConfig``).

    A schedule has up to three phases over ``decay_steps`` steps in total: a linear warmup
    from 0 to ``lr`` over ``warmup_steps``, the main phase named by ``name``, and a linear
    cooldown to ``cooldown_lr`` over the last ``cooldown_steps``. The README's semantics
    table gives the value at every step.

    Attributes:
        lr: Peak learning rate of the main phase (finite, > 0).
        name: ``"constant"``, ``"linear"``, ``"cosine"`` (alias ``"cosine_decay"``) or
            ``"exponential"`` (alias ``"exponential_decay"``).
        decay_steps: Length of the whole schedule, warmup and cooldown included. ``None``
            means "given at runtime"; it must be set before a schedule that needs it is built.
        end_lr: Learning rate at the end of the main phase, before the cooldown. Exclusive
            with ``end_lr_factor`` (both may be given only if they agree).
        end_lr_factor: ``end_lr`` as a multiple of ``lr``.
        cooldown_steps: Length of the final cooldown.
        warmup_steps: Length of the initial warmup.
        cooldown_lr: Learning rate at the end of the cooldown.

    Example:
        >>> from hydra_optax_schedules import SchedulerConfig, build_lr_scheduler
        >>> schedule = build_lr_scheduler(
        ...     SchedulerConfig(lr=1e-3, name="cosine", decay_steps=100, warmup_steps=10)
        ... )
        >>> schedule(10)
        0.001
    """

    lr: float
    name: str = "constant"
    decay_steps: int | None = 0
    end_lr: float | None = None
    end_lr_factor: float | None = None
    cooldown_steps: int = 0
    warmup_steps: int = 0
    cooldown_lr: float = 0.0

    def get(self, key: str, default: Any = None) -> Any:
        """The value of field ``key``, or ``default`` if there is no such field."""
        return getattr(self, key, default)

    def to_dict(self) -> dict[str, Any]:
        """The config as a plain dictionary, for saving to disk or logging."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @staticmethod
    def from_dict(
        config_class: type[ConfigT],
        data: Any,
        strict_classname_parsing: bool = False,
        ignore_extensive_attributes: bool = True,
        none_to_zero_for_ints: bool = False,
    ) -> ConfigT:
        """Parse ``data`` (a mapping, or a ``Name(field=value, ...)`` string) into ``config_class``.

        Unlike xlstm-jax's parser, this never imports a module nor resolves a class named in
        the data: a config file cannot run code.

        Args:
            config_class: The dataclass to build (chosen by the caller, never by the data).
            data: A mapping of field values, or the ``repr`` of a config.
            strict_classname_parsing: For a ``repr`` string, require its class name to be
                ``config_class``'s own name.
            ignore_extensive_attributes: Skip keys that are not fields (otherwise an error).
            none_to_zero_for_ints: Read ``None`` as 0 for integer fields.

        Returns:
            An instance of ``config_class``.

        Raises:
            ScheduleConfigError: A value does not fit its field, or a key is unknown.
        """
        from hydra_optax_schedules.parsing import parse_dataclass

        return parse_dataclass(
            config_class,
            data,
            strict_classname_parsing=strict_classname_parsing,
            ignore_extensive_attributes=ignore_extensive_attributes,
            none_to_zero_for_ints=none_to_zero_for_ints,
        )


@dataclass
class HydraSchedulerConfig(SchedulerConfig):
    """A ``SchedulerConfig`` as an option of Hydra's ``scheduler`` group.

    ``lr`` is mandatory, ``decay_steps`` is ``None`` until set or passed to
    ``instantiate(cfg.scheduler, decay_steps=n)``, and ``_partial_: true`` makes
    ``instantiate`` return a callable that awaits ``decay_steps``.
    """

    lr: float = MISSING
    decay_steps: int | None = None
    _target_: str = field(default=BUILDER_TARGET)
    _partial_: bool = False
