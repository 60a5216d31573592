"""What a user writes: ``SchedulerConfig`` and ``StageConfig``, their fields and defaults.

``SchedulerConfig`` is xlstm-jax's config, field for field, followed by this project's
additions (warmup start and shape, cooldown shape, lengths as fractions of the run, the
parameters of the polynomial and inverse-sqrt families, the composable options: a branched
cooldown, restarts, the milestones of ``multistep`` and the ``StageConfig`` list of
``stages``, and the parameters of a registered shape); it builds every family. What a field
means for each family is :mod:`.families`; what values it accepts, :mod:`.normalize`.

This module imports nothing heavy: Hydra loads it as soon as an app uses the ``scheduler`` group.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from hydra_optax_schedules.config.parse import parse_dataclass
from hydra_optax_schedules.errors import ScheduleConfigError
from hydra_optax_schedules.values import as_number, show

__all__ = [
    "FRACTION_FIELDS",
    "STAGE_FRACTION_FIELDS",
    "SchedulerConfig",
    "StageConfig",
    "UnitsConfig",
]

ConfigT = TypeVar("ConfigT")

#: Each field counted in steps that has a form as a fraction of ``decay_steps``, and that form.
FRACTION_FIELDS = {
    "warmup_steps": "warmup_fraction",
    "cooldown_steps": "cooldown_fraction",
    "cooldown_start": "cooldown_start_fraction",
    "rewarmup_steps": "rewarmup_fraction",
    "milestones": "milestone_fractions",
}
#: The same for a stage's fields.
STAGE_FRACTION_FIELDS = {"steps": "fraction"}


@dataclass(frozen=True)
class StageConfig:
    """One stage of a ``stages`` schedule: a shape between two multiples of ``lr``.

    Attributes:
        steps: The stage's length in steps (>= 1). Exclusive with ``fraction``.
        fraction: ... or as a fraction of ``decay_steps``: ``floor(fraction * D + 1/2)`` steps.
            A stage with neither takes the rest of the main phase (the last stage only).
        shape: A shape registered for stages: ``constant``, ``linear``, ``cosine``, ``sqrt``
            (``a + (b - a) * sqrt(x)``), ``exponential``, ``polynomial``, or your own
            (``register_shape``).
        start: Value at the stage's first step, as a multiple of ``lr``; ``None`` is the
            previous stage's ``end`` (``1.0`` for the first stage). A value other than the
            previous end is a jump.
        end: Value where the stage ends, as a multiple of ``lr``; ``None`` is ``start``.
        power: Exponent of a ``polynomial`` stage (> 0).
        shape_params: The parameters of a registered shape (``{"exponent": 2.0}``); a
            parameter left out takes the shape's default.
    """

    steps: int | None = None
    fraction: float | None = None
    shape: str = "linear"
    start: float | None = None
    end: float | None = None
    power: float = 2.0
    shape_params: dict[str, float] | None = None


@dataclass(frozen=True)
class UnitsConfig:
    """What a run counts, and its batch size: ``SchedulerConfig.units`` (docs/units.md).

    The schedule stays a function of the step; with ``unit`` other than ``"steps"`` its
    lengths are counted in that unit (``decay``, ``warmup``, ``cooldown``,
    ``cooldown_start``, the twins of ``decay_steps``, ``warmup_steps``, ``cooldown_steps``
    and ``cooldown_start``, which then stay unset), and the step's count of the unit is
    the samples (or tokens) consumed before that step.

    Attributes:
        unit: ``"steps"``, ``"samples"``, ``"tokens"`` or ``"epochs"``.
        batch_size: Samples per step, if it never changes. Exclusive with ``ramp``.
        sequence_length: Tokens per sample (``unit="tokens"`` only, and required there).
        samples_per_epoch: Samples in an epoch (``unit="epochs"`` only, and required there).
        ramp: The batch size as ``[[point, batch_size], ...]``: from the step whose count of
            the unit reaches ``point`` on, ``batch_size`` samples per step. Points strictly
            increase from 0; the last batch size holds to the end (and is the reference of
            ``lr_scaling``).
        lr_scaling: ``"none"``, ``"sqrt"`` (Adam) or ``"linear"`` (SGD): the learning rate
            at a step is multiplied by ``(batch / final batch) ** (1/2 or 1)``.
        decay: The run length in the unit (``decay_steps``'s twin).
        warmup: The warmup length in the unit (``warmup_steps``'s twin).
        cooldown: The cooldown length in the unit (``cooldown_steps``'s twin).
        cooldown_start: Where a branched cooldown starts, in the unit.
    """

    unit: str = "steps"
    batch_size: int | None = None
    sequence_length: int | None = None
    samples_per_epoch: int | None = None
    ramp: tuple[tuple[int | float, ...], ...] | None = None
    lr_scaling: str = "none"
    decay: int | float | None = None
    warmup: int | float = 0
    cooldown: int | float = 0
    cooldown_start: int | float | None = None


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
            (step decay at ``milestones``), ``"stages"`` (the main phase is ``stages``), or
            a shape registered with ``register_shape``.
        decay_steps: Length of the whole schedule, warmup and cooldown included. ``None``, or
            the seed's default ``0``, means "not given": the run length a trainer passes at
            runtime (``run_steps``) is taken, and a schedule that needs one and has neither is
            an error. A ``decay_steps`` set to another value than ``run_steps`` is an error.
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
            the schedule has at ``cooldown_start``. ``"resume"`` is the step the run resumed
            at, given when the schedule is built (``resume_step=``, as ``run_steps=``): the
            cooldown branched off a checkpoint (docs/resume.md).
        cooldown_start_fraction: ... or the step nearest ``cooldown_start_fraction *
            decay_steps`` (in [0, 1]; halves round up), e.g. 0.8 to branch the cooldown off
            at 80% of the run.
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
        shape_params: The parameters of a family registered with ``register_shape`` (its
            shape's parameters other than ``power`` and ``timescale``, which are fields of
            their own); a parameter left out takes the shape's default.

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
    # Any for OmegaConf 2.3 (Hydra 1.3), which cannot type a Union in a structured config
    # (OmegaConf.structured(SchedulerConfig), a user's ConfigStore node); from_dict reads the
    # field's "type".
    cooldown_start: Any | None = field(
        default=None, metadata={"type": int | Literal["resume"] | None}
    )
    cycles: int = 1
    cycle_mult: float = 1.0
    cycle_decay: float = 1.0
    rewarmup_steps: int = 0
    rewarmup_fraction: float | None = None
    milestones: tuple[int, ...] | None = None
    milestone_fractions: tuple[float, ...] | None = None
    decay_factor: float = 0.1
    stages: tuple[StageConfig, ...] | None = None
    shape_params: dict[str, float] | None = None
    # After 0.2.0's fields, so that a config built with positional arguments keeps its meaning.
    cooldown_start_fraction: float | None = None
    # What the run counts and its batch size (docs/units.md); None: steps, as before.
    units: UnitsConfig | None = None

    def get(self, key: str, default: Any = None) -> Any:
        """The value of field ``key``, or ``default`` if there is no such field."""
        return getattr(self, key, default)

    def to_dict(self) -> dict[str, Any]:
        """The config as a plain dictionary of JSON values, for saving to disk or logging:
        sequences become lists, stages mappings of their fields, NumPy and JAX scalars the
        Python numbers they hold (``as_number``: a float32 ``0.35`` is ``0.35``).

        Raises:
            ScheduleConfigError: A value is none of these (it is named), so that what is
                saved always reads back.
        """
        return {f.name: _plain(f.name, getattr(self, f.name)) for f in dataclasses.fields(self)}

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
        return parse_dataclass(
            config_class,
            data,
            strict_classname_parsing=strict_classname_parsing,
            ignore_extensive_attributes=ignore_extensive_attributes,
            none_to_zero_for_ints=none_to_zero_for_ints,
        )


def _plain(name: str, value: Any) -> Any:
    """``value`` (of field ``name``) as JSON data: its sequences as lists, its dataclasses as
    dicts, its numbers as Python numbers, recursively."""
    if value is None or type(value) in (bool, int, float, str):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _plain(f"{name}.{f.name}", getattr(value, f.name))
            for f in dataclasses.fields(value)
        }
    if isinstance(value, Mapping) and all(isinstance(key, str) for key in value):
        return {key: _plain(f"{name}.{key}", item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(f"{name}[{i}]", item) for i, item in enumerate(value)]
    number = as_number(value)  # NumPy and JAX scalars
    if number is not None:
        return number
    if getattr(value, "shape", None) == () and getattr(value, "dtype", None) == "bool":
        return bool(value)  # numpy.bool_, a JAX boolean
    if isinstance(value, (bool, str)):  # subclasses: numpy.str_
        return bool(value) if isinstance(value, bool) else str(value)
    raise ScheduleConfigError(
        f"{name}={show(value)} is not JSON data: to_dict() saves numbers, strings, booleans, "
        "null, lists and mappings with string keys",
        field=name,
    )
