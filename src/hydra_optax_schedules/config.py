"""The scheduler configs: fields, defaults and what each one means.

``SchedulerConfig`` is xlstm-jax's config, field for field, followed by this project's
additions (warmup start and shape, cooldown shape, lengths as fractions of the run, the
parameters of the polynomial and inverse-sqrt families, and the composable options: a branched
cooldown, restarts, the milestones of ``multistep`` and the ``StageConfig`` list of
``stages``); it builds every family.

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
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from omegaconf import MISSING, DictConfig, OmegaConf

__all__ = [
    "COOLDOWN_SHAPES",
    "DECAYING",
    "FAMILY_DEFAULTS",
    "OPTION_CLASSES",
    "SCHEDULE_NAMES",
    "STAGE_SHAPES",
    "WARMUP_SHAPES",
    "SchedulerConfig",
    "SchedulerOption",
    "StageConfig",
    "StageOption",
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
    "multistep": "multistep",
    "stages": "stages",
}
WARMUP_SHAPES = ("linear", "cosine")
COOLDOWN_SHAPES = ("linear", "cosine", "sqrt")
STAGE_SHAPES = ("constant", "linear", "cosine", "sqrt", "exponential", "polynomial")
#: Families whose main phase decays from ``lr`` to the end value ``E``, and may restart.
DECAYING = ("linear", "cosine", "exponential", "polynomial")

#: Fields that only some families use; the other families' options leave them out.
FAMILY_FIELDS: dict[str, tuple[str, ...]] = {
    "power": ("polynomial",),
    "timescale": ("inverse_sqrt",),
    "cycles": DECAYING,
    "cycle_mult": DECAYING,
    "cycle_decay": DECAYING,
    "rewarmup_steps": DECAYING,
    "rewarmup_fraction": DECAYING,
    "milestones": ("multistep",),
    "milestone_fractions": ("multistep",),
    "decay_factor": ("multistep",),
    "stages": ("stages",),
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
class StageConfig:
    """One stage of a ``stages`` schedule: a curve between two multiples of ``lr``.

    Attributes:
        steps: The stage's length in steps (>= 1). Exclusive with ``fraction``.
        fraction: ... or as a fraction of ``decay_steps``: ``floor(fraction * D + 1/2)`` steps.
            A stage with neither takes the rest of the main phase (the last stage only).
        shape: One of ``STAGE_SHAPES``: ``constant``, ``linear``, ``cosine``, ``sqrt``
            (``a + (b - a) * sqrt(x)``), ``exponential`` or ``polynomial``.
        start: Value at the stage's first step, as a multiple of ``lr``; ``None`` is the
            previous stage's ``end`` (``1.0`` for the first stage). A value other than the
            previous end is a jump.
        end: Value where the stage ends, as a multiple of ``lr``; ``None`` is ``start``.
        power: Exponent of a ``polynomial`` stage (> 0).
    """

    steps: int | None = None
    fraction: float | None = None
    shape: str = "linear"
    start: float | None = None
    end: float | None = None
    power: float = 2.0


@dataclass(frozen=True)
class SchedulerConfig:
    """Configuration for a learning-rate schedule (xlstm-jax's ``SchedulerConfig``).

    The config is frozen, like the schedule built from it: derive a changed one with
    ``dataclasses.replace(config, lr=...)``.

    A schedule has up to three phases over ``decay_steps`` steps in total: a warmup from
    ``warmup_start_lr`` to ``lr`` over ``warmup_steps``, the main phase named by ``name``, and
    a cooldown to ``cooldown_lr`` over the last ``cooldown_steps``. The tables of
    ``docs/semantics.md`` give the value at every step. The main phase may restart
    (``cycles``), decay in steps (``name="multistep"``) or be any list of ``stages``, and the
    cooldown may branch off any step (``cooldown_start``): see ``docs/composable.md``.

    Attributes:
        lr: Peak learning rate of the main phase (finite, > 0).
        name: ``"constant"``, ``"linear"``, ``"cosine"`` (alias ``"cosine_decay"``),
            ``"exponential"`` (alias ``"exponential_decay"``), ``"polynomial"``,
            ``"inverse_sqrt"``, ``"wsd"`` (warmup-stable-decay: constant, then a cooldown,
            by default over the last ``WSD_COOLDOWN_FRACTION`` of the run), ``"multistep"``
            (step decay at ``milestones``) or ``"stages"`` (the main phase is ``stages``).
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
        cooldown_start: The step where the cooldown starts (>= ``warmup_steps``), instead of
            ``decay_steps - cooldown_steps``: a cooldown branched off any step. The main phase
            keeps the shape it has without a cooldown (over ``decay_steps - warmup_steps``
            steps), and the cooldown runs over the next ``cooldown_steps`` steps from the value
            the schedule has at ``cooldown_start``.
        cycles: Restarts of a decaying family: the main phase is split into this many cycles
            (>= 1), each decaying from its peak to the end value.
        cycle_mult: Each cycle is this many times longer than the one before (> 0; SGDR's
            ``T_mult``).
        cycle_decay: The peak of cycle ``i`` (from 0) is ``lr * cycle_decay ** i`` (> 0).
        rewarmup_steps: Each cycle after the first starts with a warmup of this many steps,
            from the end value to its peak, in ``warmup_shape``.
        rewarmup_fraction: ... or of this fraction of the cycle's length (in [0, 1]).
        milestones: ``multistep``: the steps (strictly increasing, after the warmup and before
            the cooldown) where the learning rate is multiplied by ``decay_factor``.
        milestone_fractions: ... or the milestones as fractions of ``decay_steps``.
        decay_factor: ``multistep``: the factor applied at each milestone (> 0).
        stages: ``stages``: the main phase as a sequence of :class:`StageConfig` (or mappings
            of its fields), in order.

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
    cooldown_start: int | None = None
    cycles: int = 1
    cycle_mult: float = 1.0
    cycle_decay: float = 1.0
    rewarmup_steps: int = 0
    rewarmup_fraction: float | None = None
    milestones: tuple[int, ...] | None = None
    milestone_fractions: tuple[float, ...] | None = None
    decay_factor: float = 0.1
    stages: tuple[StageConfig, ...] | None = None

    def get(self, key: str, default: Any = None) -> Any:
        """The value of field ``key``, or ``default`` if there is no such field."""
        return getattr(self, key, default)

    def to_dict(self) -> dict[str, Any]:
        """The config as a plain dictionary of JSON values, for saving to disk or logging:
        sequences become lists, stages mappings of their fields."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

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
            none_to_zero_for_ints: Read ``None`` as 0 for integer fields, except those that
                default to ``None``, where it has a meaning of its own (``cooldown_start``:
                no branched cooldown; a stage's ``steps``: the rest of the main phase).

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


def _plain(value: Any) -> Any:
    """``value`` with its sequences as lists and its dataclasses as dicts, recursively."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


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


def _stage_option_class() -> type:
    """``StageOption``: ``StageConfig`` as the typed node of one stage in Hydra's config, so
    that a typo in a stage's key is rejected and ``scheduler.stages.0.end=0.2`` overrides it."""
    fields = [
        (f.name, _option_type(str(f.type)), field(default=f.default))
        for f in dataclasses.fields(StageConfig)
    ]
    option = dataclasses.make_dataclass("StageOption", fields)
    option.__module__ = __name__
    option.__doc__ = "One stage of the ``stages`` option (``StageConfig``'s fields)."
    return option


StageOption = _stage_option_class()

#: Fields whose type in the options is not derived from ``SchedulerConfig``'s: the stages of
#: the ``stages`` option are typed nodes, and mandatory there.
OPTION_FIELDS: dict[str, tuple[Any, Any]] = {"stages": (list[StageOption], MISSING)}  # type: ignore[valid-type]


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
        annotation, default = OPTION_FIELDS.get(config_field.name, (annotation, default))
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
    option: Any = OPTION_CLASSES[SCHEDULE_NAMES[name]]
    node: DictConfig = OmegaConf.structured(option(name=name))
    return node
