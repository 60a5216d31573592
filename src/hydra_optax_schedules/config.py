"""The scheduler configs: fields, defaults and what each one means.

``SchedulerConfig`` is xlstm-jax's config, field for field, followed by this project's
additions (warmup start and shape, cooldown shape, lengths as fractions of the run, and the
parameters of the polynomial and inverse-sqrt families); it builds every family.

The options of Hydra's ``scheduler`` group (``OPTION_CLASSES``) are generated from it, one
dataclass per family, so their fields and defaults cannot drift from it: ``lr`` is mandatory
(``???``), ``decay_steps`` is ``None`` until set or passed at ``instantiate`` time, fields that
only another family uses are left out (Hydra rejects ``scheduler=cosine scheduler.power=2``),
and ``_target_`` names the builder, so ``hydra.utils.instantiate(cfg.scheduler)`` returns the
schedule.

This module imports nothing heavy: Hydra loads it as soon as an app uses the ``scheduler`` group.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, TypeVar

from omegaconf import MISSING, DictConfig, OmegaConf

__all__ = [
    "COOLDOWN_SHAPES",
    "FAMILY_DEFAULTS",
    "OPTION_CLASSES",
    "SCHEDULE_NAMES",
    "WARMUP_SHAPES",
    "SchedulerConfig",
    "SchedulerOption",
    "canonical_name",
    "default_for",
    "option_node",
]

#: Every accepted ``name``, mapped to the schedule family it selects.
SCHEDULE_NAMES: dict[str, str] = {
    "constant": "constant",
    "linear": "linear",
    "cosine": "cosine",
    "cosine_decay": "cosine",
    "exponential": "exponential",
    "exponential_decay": "exponential",
    "polynomial": "polynomial",
    "inverse_sqrt": "inverse_sqrt",
    "wsd": "wsd",
}
WARMUP_SHAPES = ("linear", "cosine")
COOLDOWN_SHAPES = ("linear", "cosine", "sqrt")

#: Fields that only some families use; the other families' options leave them out.
FAMILY_FIELDS: dict[str, tuple[str, ...]] = {
    "power": ("polynomial",),
    "timescale": ("inverse_sqrt",),
}

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

BUILDER_TARGET = "hydra_optax_schedules.build_schedule"

ConfigT = TypeVar("ConfigT")


def canonical_name(name: str) -> str | None:
    """The family that ``name`` selects (``"cosine_decay"`` -> ``"cosine"``), or None."""
    return SCHEDULE_NAMES.get(name) if isinstance(name, str) else None


def default_for(family: str, field_name: str) -> Any:
    """The default of ``field_name`` in ``family`` where ``SchedulerConfig`` leaves it to the
    family (``default_for("wsd", "cooldown_shape") == "sqrt"``)."""
    return FAMILY_DEFAULTS.get(family, {}).get(field_name, FAMILY_DEFAULTS["*"][field_name])


@dataclass(frozen=True)
class SchedulerConfig:
    """Configuration for a learning-rate schedule (xlstm-jax's ``SchedulerConfig``).

    The config is frozen, like the schedule built from it: derive a changed one with
    ``dataclasses.replace(config, lr=...)``.

    A schedule has up to three phases over ``decay_steps`` steps in total: a warmup from
    ``warmup_start_lr`` to ``lr`` over ``warmup_steps``, the main phase named by ``name``, and
    a cooldown to ``cooldown_lr`` over the last ``cooldown_steps``. The README's semantics
    table gives the value at every step.

    Attributes:
        lr: Peak learning rate of the main phase (finite, > 0).
        name: ``"constant"``, ``"linear"``, ``"cosine"`` (alias ``"cosine_decay"``),
            ``"exponential"`` (alias ``"exponential_decay"``), ``"polynomial"``,
            ``"inverse_sqrt"`` or ``"wsd"`` (warmup-stable-decay: constant, then a cooldown,
            by default over the last ``WSD_COOLDOWN_FRACTION`` of the run).
        decay_steps: Length of the whole schedule, warmup and cooldown included. ``None``, or
            the seed's default ``0``, means "not given": it is given at runtime, and must be
            set before a schedule that needs it is built.
        end_lr: Learning rate at the end of the main phase, before the cooldown. Exclusive
            with ``end_lr_factor`` (both may be given only if they agree).
        end_lr_factor: ``end_lr`` as a multiple of ``lr``.
        cooldown_steps: Length of the final cooldown.
        warmup_steps: Length of the initial warmup.
        cooldown_lr: Learning rate at the end of the cooldown.
        warmup_start_lr: Learning rate at step 0, where the warmup starts.
        warmup_shape: ``"linear"`` or ``"cosine"`` (a half-cosine ramp).
        warmup_fraction: ``warmup_steps`` as a fraction of ``decay_steps`` in [0, 1]; the
            warmup ends at the step nearest ``warmup_fraction * decay_steps`` (halves round up).
        cooldown_shape: ``"linear"``, ``"cosine"`` or ``"sqrt"`` (the 1-sqrt cooldown);
            ``None`` is the family's default (``FAMILY_DEFAULTS``: ``"sqrt"`` for ``wsd``,
            ``"linear"`` otherwise).
        cooldown_fraction: ``cooldown_steps`` as a fraction of ``decay_steps`` in [0, 1]; the
            cooldown starts at the step nearest ``(1 - cooldown_fraction) * decay_steps``.
        power: Exponent of the ``polynomial`` family (> 0; 1 is linear).
        timescale: ``tau`` of the ``inverse_sqrt`` family, ``lr * sqrt(tau / (tau + t))`` (> 0).

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
    warmup_start_lr: float = 0.0
    warmup_shape: str = "linear"
    warmup_fraction: float | None = None
    cooldown_shape: str | None = None
    cooldown_fraction: float | None = None
    power: float = 2.0
    timescale: float = 10000.0

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
    OmegaConf's typed nodes refuse NumPy and JAX scalars. Strings keep their type."""
    return Any if "int" in annotation or "float" in annotation else annotation


def _option_class(family: str) -> type[SchedulerOption]:
    """The dataclass of ``family``'s option, generated from ``SchedulerConfig``'s fields.

    A field whose ``SchedulerConfig`` default is "the family's" (``None``) shows the family's
    value, read from ``FAMILY_DEFAULTS``, so that ``--cfg job`` tells the whole truth.
    """
    defaults = {**OPTION_DEFAULTS, "name": family}
    defaults |= {name: default_for(family, name) for name in FAMILY_DEFAULTS["*"]}
    fields: list[tuple[str, Any, Any]] = []
    for config_field in dataclasses.fields(SchedulerConfig):
        if family not in FAMILY_FIELDS.get(config_field.name, (family,)):
            continue
        default = defaults.get(config_field.name, config_field.default)
        annotation = _option_type(str(config_field.type))
        fields.append((config_field.name, annotation, field(default=default)))
    fields += [
        ("_target_", "str", field(default=BUILDER_TARGET)),
        ("_partial_", "bool", field(default=False)),
    ]
    title = "".join(part.title() for part in family.split("_"))
    option = dataclasses.make_dataclass(f"{title}Option", fields, bases=(SchedulerOption,))
    option.__module__ = __name__
    option.__doc__ = f"The ``{family}`` option of Hydra's ``scheduler`` group."
    return option


#: The option dataclass of every family, e.g. ``OPTION_CLASSES["cosine"]`` is ``CosineOption``.
OPTION_CLASSES: dict[str, type[SchedulerOption]] = {
    family: _option_class(family) for family in dict.fromkeys(SCHEDULE_NAMES.values())
}
# Module attributes, so that options pickle by reference (joblib and submitit workers).
globals().update({cls.__name__: cls for cls in OPTION_CLASSES.values()})


def option_node(name: str) -> DictConfig:
    """Option ``name`` of the ``scheduler`` group, as the typed config Hydra composes."""
    return OmegaConf.structured(OPTION_CLASSES[SCHEDULE_NAMES[name]](name=name))
