"""Every field checked on its own: a config becomes a :class:`NormalizedConfig`.

One message style for every check: the field (as ``scheduler.<field>`` when the config came
from Hydra), the value it had, and what would be valid. Checks that involve several fields,
and the run length, are the plan's (:mod:`hydra_optax_schedules.plan`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hydra_optax_schedules.config.coerce import SCHEDULER_FIELDS, STAGE_FIELDS, stage_fields
from hydra_optax_schedules.config.families import SCHEDULE_NAMES, default_for, family_shape
from hydra_optax_schedules.config.schema import (
    FRACTION_FIELDS,
    STAGE_FRACTION_FIELDS,
    SchedulerConfig,
    StageConfig,
    UnitsConfig,
)
from hydra_optax_schedules.config.units import normalize_units
from hydra_optax_schedules.errors import ScheduleConfigError
from hydra_optax_schedules.messages import (
    RESUME,
    close_names,
    invalid,
    needs_resume_step,
    resume_step_invalid,
    run_length_conflict,
    run_steps_invalid,
    too_many,
)
from hydra_optax_schedules.shapes import SHAPES, Shape, shapes_for
from hydra_optax_schedules.values import (
    F32_RANGE,
    F32_TINY,
    MAX_COUNT,
    MAX_LR,
    MAX_STEPS,
    as_number,
    f32_holds,
    string_hint,
)

__all__ = ["NormalizedConfig", "normalize"]


@dataclass(frozen=True, eq=False)
class NormalizedConfig(SchedulerConfig):
    """A ``SchedulerConfig`` whose every field is checked and a plain Python value: "not
    given" is ``None`` (``decay_steps=0``, the seed's default, is not given), a field left to
    the family (``cooldown_shape=None``) holds the family's default, ``stages`` are
    normalized ``StageConfig`` objects, and ``shape_params`` holds every parameter of the
    family's shape that is not a field of its own (defaults filled in), or ``None``.

    Only :func:`normalize` makes one; the plan takes nothing else. It equals a
    ``SchedulerConfig`` of the same values (``schedule.config == SchedulerConfig(...)``).
    """

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SchedulerConfig):
            return NotImplemented
        names = self.__dataclass_fields__
        return all(getattr(self, name) == getattr(other, name) for name in names)

    def __hash__(self) -> int:
        # SchedulerConfig's: hashable unless shape_params holds a dict (a registered shape's).
        return hash(self.as_config())

    @property
    def family(self) -> str:
        """The family ``name`` selects (``"cosine_decay"`` -> ``"cosine"``)."""
        return SCHEDULE_NAMES[self.name]

    def as_config(self) -> SchedulerConfig:
        """The same values as a plain ``SchedulerConfig``."""
        return SchedulerConfig(**{name: getattr(self, name) for name in self.__dataclass_fields__})


def normalize(
    config: SchedulerConfig, prefix: str = "", run_steps: Any = None, resume_step: Any = None
) -> NormalizedConfig:
    """Check every field of ``config`` on its own; ``prefix`` names where it sits.

    ``run_steps`` is the run length a trainer gives at runtime: it is ``decay_steps`` when
    the config leaves that unset (``None`` or 0), must equal it when the config sets it, and
    is an error naming both values otherwise. ``resume_step`` is the step a resumed run
    continues from, given at runtime too: it is ``cooldown_start`` when the config sets that
    to ``"resume"`` (an error naming the field if it is not given), and has no effect
    otherwise.
    """

    def optional(check: Any, field: str, **kwargs: Any) -> Any:
        value = getattr(config, field)
        return None if value is None else check(prefix, field, value, **kwargs)

    name = _choice(prefix, "name", config.name, SCHEDULE_NAMES)
    family = SCHEDULE_NAMES[name]
    decay_steps = optional(_count, "decay_steps") or None
    if run_steps is not None:
        run_length = as_number(run_steps)
        if not isinstance(run_length, int) or not 1 <= run_length <= MAX_STEPS:
            raise run_steps_invalid(run_steps)
        if decay_steps is not None and decay_steps != run_length:
            raise run_length_conflict(prefix, decay_steps, run_length)
        decay_steps = run_length
    cooldown_shape = config.cooldown_shape
    if cooldown_shape is None:
        cooldown_shape = default_for(family, "cooldown_shape")
    return NormalizedConfig(
        lr=_rate(prefix, "lr", config.lr, positive=True),
        name=name,
        decay_steps=decay_steps,
        end_lr=optional(_rate, "end_lr"),
        end_lr_factor=optional(_real, "end_lr_factor"),
        cooldown_steps=_count(prefix, "cooldown_steps", config.cooldown_steps),
        warmup_steps=_count(prefix, "warmup_steps", config.warmup_steps),
        cooldown_lr=_rate(prefix, "cooldown_lr", config.cooldown_lr),
        warmup_start_lr=_rate(prefix, "warmup_start_lr", config.warmup_start_lr),
        warmup_shape=_choice(prefix, "warmup_shape", config.warmup_shape, shapes_for("warmup")),
        warmup_fraction=optional(_real, "warmup_fraction", at_most=1.0),
        cooldown_shape=_choice(prefix, "cooldown_shape", cooldown_shape, shapes_for("cooldown")),
        cooldown_fraction=optional(_real, "cooldown_fraction", at_most=1.0),
        power=_real(prefix, "power", config.power, positive=True, f32=True),
        timescale=_timescale(prefix, config.timescale),
        cooldown_start=_cooldown_start(prefix, config.cooldown_start, resume_step),
        cooldown_start_fraction=optional(_real, "cooldown_start_fraction", at_most=1.0),
        cycles=_cycles(prefix, config.cycles),
        cycle_mult=_real(prefix, "cycle_mult", config.cycle_mult, positive=True),
        cycle_decay=_real(prefix, "cycle_decay", config.cycle_decay, positive=True),
        rewarmup_steps=_count(prefix, "rewarmup_steps", config.rewarmup_steps),
        rewarmup_fraction=optional(_real, "rewarmup_fraction", at_most=1.0),
        milestones=optional(_each, "milestones", each=_count),
        milestone_fractions=optional(_each, "milestone_fractions", each=_real),
        decay_factor=_real(prefix, "decay_factor", config.decay_factor, positive=True),
        stages=optional(_each, "stages", each=_stage),
        shape_params=_shape_params(
            prefix, "shape_params", config.shape_params, family_shape(family), SCHEDULER_FIELDS
        ),
        units=_units(prefix, config.units),
    )


def _real(
    prefix: str,
    field: str,
    value: Any,
    *,
    positive: bool = False,
    at_most: float = math.inf,
    f32: bool = False,
) -> float:
    """A finite number in ``[0, at_most]`` (``(0, at_most]`` if positive), as a Python float;
    with ``f32`` or ``at_most=MAX_LR`` (a rate), one that float32 holds (:func:`f32_holds`)."""
    f32 = f32 or at_most == MAX_LR
    number = as_number(value)
    if number is not None:
        try:
            number = float(number)
        except OverflowError:  # an int past 1.8e308
            number = math.inf
    if (
        number is None
        or not math.isfinite(number)
        or not 0 <= number <= at_most
        or (positive and number == 0)
        or (f32 and not f32_holds(number))
    ):
        bound = "> 0" if positive else ">= 0"
        in_f32 = f" that float32 holds ({'' if positive else '0, or '}{F32_RANGE})" if f32 else ""
        if at_most == MAX_LR:
            valid = f"expected a number {bound}{in_f32}"
        elif at_most == math.inf:
            valid = f"expected a finite number {bound}{in_f32}"
        else:
            valid = f"expected a number in {'(' if positive else '['}0, {at_most:g}]"
        raise invalid(prefix, field, value, valid + string_hint(value))
    return number


def _rate(prefix: str, field: str, value: Any, *, positive: bool = False) -> float:
    """A learning rate: a number in ``[0, MAX_LR]`` (``(0, MAX_LR]`` if positive)."""
    return _real(prefix, field, value, positive=positive, at_most=MAX_LR)


def _count(prefix: str, field: str, value: Any) -> int:
    """A whole number of steps in ``[0, 2**63)``, as a Python int (100.0 is refused)."""
    number = as_number(value)
    if not isinstance(number, int) or not 0 <= number <= MAX_STEPS:
        valid = "expected a whole number of steps in [0, 2**63)"
        raise invalid(
            prefix, field, value, valid + string_hint(value) + _fraction_hint(prefix, field, number)
        )
    return number


def _cooldown_start(prefix: str, value: Any, resume_step: Any) -> int | None:
    """``cooldown_start``: a step, or ``"resume"``: the step the run resumed at, ``resume_step``."""
    step = None if resume_step is None else as_number(resume_step)
    if resume_step is not None and (not isinstance(step, int) or not 0 <= step <= MAX_STEPS):
        raise resume_step_invalid(resume_step)
    if value is None:
        return None
    if isinstance(value, str) and value == RESUME:
        if not isinstance(step, int):
            raise needs_resume_step(prefix)
        return step
    number = as_number(value)
    if not isinstance(number, int) or not 0 <= number <= MAX_STEPS:
        valid = f"expected a whole number of steps in [0, 2**63) or {RESUME!r} (the resume step)"
        hint = _fraction_hint(prefix, "cooldown_start", number)
        raise invalid(prefix, "cooldown_start", value, valid + string_hint(value) + hint)
    return number


def _fraction_hint(prefix: str, field: str, number: int | float | None) -> str:
    """For a fraction given to a field counted in steps (``warmup_steps=0.05``), the field
    that takes it as a fraction of the run (``warmup_fraction``); else ``""``."""
    if not isinstance(number, float) or not 0 < number < 1:
        return ""
    where, _, name = field.rpartition(".")
    base, _, index = name.partition("[")
    twins = STAGE_FRACTION_FIELDS if where else FRACTION_FIELDS
    if base not in twins:
        return ""
    twin = f"{prefix}{where}.{twins[base]}" if where else f"{prefix}{twins[base]}"
    if index:  # milestones[1] -> milestone_fractions: the whole list is given as fractions
        return f"; to give them as fractions, set {twin} instead"
    return f"; to give it as a fraction, set {twin}={number!r}"


def _choice(prefix: str, field: str, value: Any, choices: Any) -> str:
    if not isinstance(value, str) or value not in choices:
        raise invalid(
            prefix, field, value, f"expected one of {', '.join(repr(c) for c in choices)}"
        )
    return value


def _cycles(prefix: str, value: Any) -> int:
    """``cycles``: a whole number in ``[1, MAX_COUNT]``."""
    number = as_number(value)
    if not isinstance(number, int) or number < 1:
        raise invalid(prefix, "cycles", value, "expected a whole number of cycles >= 1")
    if number > MAX_COUNT:
        raise too_many(prefix, "cycles", number, "cycles")
    return _count(prefix, "cycles", value)


def _each(prefix: str, field: str, value: Any, *, each: Any) -> tuple[Any, ...]:
    """The items of the list ``value``, each checked by ``each`` as ``field[i]``."""
    is_list = isinstance(value, Sequence) or getattr(value, "ndim", None) == 1
    if not is_list or isinstance(value, (str, bytes)):
        raise invalid(prefix, field, value, "expected a list")
    if len(value) > MAX_COUNT:  # checked before any item is
        raise too_many(prefix, field, len(value), "items")
    return tuple(each(prefix, f"{field}[{i}]", item) for i, item in enumerate(value))


def _stage(prefix: str, field: str, value: Any) -> StageConfig:
    """One stage, from a ``StageConfig``, a mapping of its fields, or a stage's Hydra node."""
    stage = StageConfig(**stage_fields(prefix, field, value))
    name = f"{field}."

    def optional(check: Any, key: str, **kwargs: Any) -> Any:
        item = getattr(stage, key)
        return None if item is None else check(prefix, name + key, item, **kwargs)

    steps = optional(_count, "steps")
    if steps == 0:
        raise invalid(prefix, name + "steps", 0, "expected a whole number of steps >= 1")
    shape = _choice(prefix, name + "shape", stage.shape, shapes_for("stage"))
    return StageConfig(
        steps=steps,
        fraction=optional(_real, "fraction", positive=True, at_most=1.0),
        shape=shape,
        start=optional(_rate, "start"),
        end=optional(_rate, "end"),
        power=_real(prefix, name + "power", stage.power, positive=True, f32=True),
        shape_params=_shape_params(
            prefix, name + "shape_params", stage.shape_params, SHAPES[shape], STAGE_FIELDS
        ),
    )


def _shape_params(
    prefix: str, field: str, value: Any, shape: Shape | None, fields: tuple[str, ...]
) -> dict[str, float] | None:
    """The parameters of ``shape`` that ``shape_params`` sets, defaults filled in: every
    parameter but those that are ``fields`` of their own (a scheduler's ``power`` and
    ``timescale``, a stage's ``power``). ``None`` when the shape has no such parameter."""
    own = tuple(p for p in (shape.params if shape is not None else ()) if p not in fields)
    given = {} if value is None else value
    if not isinstance(given, Mapping):
        raise invalid(prefix, field, value, "expected a mapping of shape parameters")
    for key in given:
        if key not in own:
            where = f"the {shape.name} shape" if shape is not None else "this family"
            has = f"its parameters: {', '.join(own)}" if own else "it has none"
            close = close_names(key, own) if isinstance(key, str) else []
            guess = f" did you mean {' or '.join(close)}?" if close else ""
            raise ScheduleConfigError(
                f"{prefix}{field}.{key} is not a parameter of {where};{guess} {has}",
                field=f"{field}.{key}",
            )
    if not own:
        return None
    assert shape is not None  # a shape without parameters has none of its own
    return {
        key: _real_param(prefix, f"{field}.{key}", given.get(key, shape.params[key])) for key in own
    }


def _timescale(prefix: str, value: Any) -> float:
    """``timescale``: a number float32 holds whose reciprocal it holds too, ``[F32_TINY,
    1 / F32_TINY]``: XLA divides by a constant as a product with its reciprocal, and a
    subnormal reciprocal is flushed to 0 on CPU (``t / timescale`` would be 0 at every step,
    NaN at an infinite one)."""
    number = _real(prefix, "timescale", value, positive=True, f32=True)
    if number > 1 / F32_TINY:
        valid = f"expected a number from {F32_TINY:.4g} to {1 / F32_TINY:.4g}"
        reason = "that float32 holds, and its reciprocal too: XLA multiplies the step by it"
        raise invalid(prefix, "timescale", value, f"{valid} ({reason})")
    return number


def _real_param(prefix: str, field: str, value: Any) -> float:
    """A shape parameter: any finite number."""
    number = as_number(value)
    try:
        number = None if number is None else float(number)
    except OverflowError:  # an int past 1.8e308
        number = math.inf
    if number is None or not f32_holds(number):
        valid = f"expected a finite number that float32 holds (0, or of magnitude {F32_RANGE})"
        raise invalid(prefix, field, value, valid + string_hint(value))
    return number


def _units(prefix: str, value: Any) -> UnitsConfig | None:
    """The checked ``units`` node; ``None`` if it is its defaults (counted in steps, no batch
    size), which is what no node means (every Hydra option carries the node)."""
    if value is None:
        return None
    units = normalize_units(prefix, value).config
    return None if units == UnitsConfig() else units
