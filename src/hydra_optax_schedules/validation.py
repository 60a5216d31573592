"""Check a scheduler config and turn it into the phases of its schedule.

All validation lives here, with one message style: the field (as ``scheduler.<field>`` when
the config came from Hydra), the value it had, and what would be valid. Every check runs
when a schedule is built, so a bad config stops a run before training starts.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from fractions import Fraction
from typing import Any

from hydra_optax_schedules.config import (
    COOLDOWN_SHAPES,
    SCHEDULE_NAMES,
    WARMUP_SHAPES,
    WSD_COOLDOWN_FRACTION,
    SchedulerConfig,
    canonical_name,
    default_for,
)
from hydra_optax_schedules.errors import ScheduleConfigError
from hydra_optax_schedules.shapes import Phase

__all__ = [
    "as_number",
    "exact",
    "ineffective_fields",
    "nearest_step",
    "normalize",
    "plan_phases",
    "show",
]

# Two end values agree if they differ by float rounding only (3e-4 / 3e-3 != 0.1 exactly).
END_LR_REL_TOL = 1e-6
# Families whose main phase decays from lr to the end value E over a main phase of >= 1 step.
DECAYING = ("linear", "cosine", "exponential", "polynomial")


def show(value: Any) -> str:
    """``repr(value)`` for a message: at most 60 characters, whatever the value."""
    try:
        text = repr(value)
    except ValueError:  # an int with more digits than Python converts to text
        return f"<an int of about {int(value.bit_length() * math.log10(2))} digits>"
    return text if len(text) <= 60 else f"{text[:45]}... ({len(text)} characters)"


def _invalid(prefix: str, field: str, value: Any, valid: str) -> ScheduleConfigError:
    return ScheduleConfigError(f"{prefix}{field}={show(value)} is invalid: {valid}", field=field)


def as_number(value: Any) -> int | float | None:
    """``value`` as a Python ``int`` or ``float`` if it is a real number, else ``None``.

    NumPy and JAX scalars (0-d arrays) are numbers; booleans are not. A float of less than
    double precision becomes the shortest decimal that it represents (``np.float32(0.35)`` is
    ``0.35``), which is the number its user wrote.
    """
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return None
    if type(value) in (int, float):
        return value
    if getattr(value, "shape", None) == () and hasattr(value, "dtype"):  # a 0-d array
        import numpy

        value = numpy.asarray(value)[()]
        if value.dtype.kind == "f" and value.dtype.itemsize < 8:
            return float(str(value))
        if value.dtype.kind in "iu":
            return int(value)
        if value.dtype.kind == "f":
            return float(value)
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        try:
            return float(value)
        except OverflowError:  # an int past 1.8e308, as a Fraction
            return math.inf
    return None


#: The largest learning rate: one that float32, the dtype of a schedule under ``jit``, holds.
MAX_LR = 3.4028234663852886e38


def _real(
    prefix: str,
    field: str,
    value: Any,
    *,
    positive: bool = False,
    at_most: float = math.inf,
) -> float:
    """A finite number in ``[0, at_most]`` (``(0, at_most]`` if positive), as a Python float."""
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
    ):
        bound = "> 0" if positive else ">= 0"
        if at_most == MAX_LR:
            valid = f"expected a number {bound} that float32 holds (<= {MAX_LR:.4g})"
        elif at_most == math.inf:
            valid = f"expected a finite number {bound}"
        else:
            valid = f"expected a number in [0, {at_most:g}]"
        raise _invalid(prefix, field, value, valid + _string_hint(value))
    return number


def _rate(prefix: str, field: str, value: Any, *, positive: bool = False) -> float:
    """A learning rate: a number in ``[0, MAX_LR]`` (``(0, MAX_LR]`` if positive)."""
    return _real(prefix, field, value, positive=positive, at_most=MAX_LR)


# A step count past int64 cannot be a step of any training loop (nor a float's exact value).
MAX_STEPS = 2**63 - 1


def _count(prefix: str, field: str, value: Any) -> int:
    """A whole number of steps in ``[0, 2**63)``, as a Python int (100.0 is refused)."""
    number = as_number(value)
    if not isinstance(number, int) or not 0 <= number <= MAX_STEPS:
        valid = "expected a whole number of steps in [0, 2**63)"
        raise _invalid(prefix, field, value, valid + _string_hint(value))
    return number


def _string_hint(value: Any) -> str:
    """For a number written as a string, how to pass it as a number."""
    try:
        float(value) if isinstance(value, str) else None
    except ValueError:
        return ""
    if not isinstance(value, str):
        return ""
    return ", not a string (from the environment: ${oc.decode:${oc.env:NAME}})"


def _choice(prefix: str, field: str, value: Any, choices: Any) -> str:
    if not isinstance(value, str) or value not in choices:
        raise _invalid(
            prefix, field, value, f"expected one of {', '.join(repr(c) for c in choices)}"
        )
    return value


def normalize(config: SchedulerConfig, prefix: str = "") -> SchedulerConfig:
    """Check every field on its own and return a ``SchedulerConfig`` of plain Python values.

    "Not given" becomes ``None`` (``decay_steps=0``, the seed's default, is not given), and a
    field left to the family (``cooldown_shape=None``) takes the family's default. Checks that
    involve several fields are :func:`plan_phases`'s job.
    """

    def optional(check: Any, field: str, **kwargs: Any) -> Any:
        value = getattr(config, field)
        return None if value is None else check(prefix, field, value, **kwargs)

    name = _choice(prefix, "name", config.name, SCHEDULE_NAMES)
    family = SCHEDULE_NAMES[name]
    decay_steps = optional(_count, "decay_steps")
    cooldown_shape = config.cooldown_shape
    if cooldown_shape is None:
        cooldown_shape = default_for(family, "cooldown_shape")
    return SchedulerConfig(
        lr=_rate(prefix, "lr", config.lr, positive=True),
        name=name,
        decay_steps=decay_steps or None,
        end_lr=optional(_rate, "end_lr"),
        end_lr_factor=optional(_real, "end_lr_factor"),
        cooldown_steps=_count(prefix, "cooldown_steps", config.cooldown_steps),
        warmup_steps=_count(prefix, "warmup_steps", config.warmup_steps),
        cooldown_lr=_rate(prefix, "cooldown_lr", config.cooldown_lr),
        warmup_start_lr=_rate(prefix, "warmup_start_lr", config.warmup_start_lr),
        warmup_shape=_choice(prefix, "warmup_shape", config.warmup_shape, WARMUP_SHAPES),
        warmup_fraction=optional(_real, "warmup_fraction", at_most=1.0),
        cooldown_shape=_choice(prefix, "cooldown_shape", cooldown_shape, COOLDOWN_SHAPES),
        cooldown_fraction=optional(_real, "cooldown_fraction", at_most=1.0),
        power=_real(prefix, "power", config.power, positive=True),
        timescale=_real(prefix, "timescale", config.timescale, positive=True),
    )


def _end_value(config: SchedulerConfig, prefix: str) -> float:
    """``E``: ``end_lr``, else ``end_lr_factor * lr``, else 0; both must agree if both are set."""
    end_lr, factor = config.end_lr, config.end_lr_factor
    if end_lr is not None and factor is not None:
        if not math.isclose(end_lr, factor * config.lr, rel_tol=END_LR_REL_TOL):
            raise ScheduleConfigError(
                f"{prefix}end_lr={end_lr!r} and {prefix}end_lr_factor={factor!r} disagree: "
                f"end_lr_factor * lr = {factor * config.lr!r}; set only one of them",
                field="end_lr",
            )
        return end_lr
    if end_lr is not None:
        return end_lr
    if factor is None:
        return 0.0
    if not factor * config.lr <= MAX_LR:
        raise ScheduleConfigError(
            f"{prefix}end_lr_factor={factor!r} * {prefix}lr={config.lr!r} is invalid: the end "
            f"learning rate must be one that float32 holds (<= {MAX_LR:.4g})",
            field="end_lr_factor",
        )
    return factor * config.lr


def _needs_length(prefix: str, what: str) -> ScheduleConfigError:
    return ScheduleConfigError(
        f"{prefix}decay_steps=None is invalid: {what} needs the run length; set "
        f"{prefix}decay_steps or pass decay_steps=... to instantiate() / build_schedule()",
        field="decay_steps",
    )


def exact(fraction: float) -> Fraction:
    """The decimal number a fraction was written as: ``exact(0.35) == Fraction(35, 100)``.

    ``repr`` of a float is the shortest decimal that reads back as it, which is what its
    user wrote; the float itself (``0.34999999999999997779...``) is not.
    """
    return Fraction(repr(float(fraction)))


def nearest_step(fraction: Fraction, total: int) -> int:
    """The step nearest ``fraction * total`` (exact rationals); halves round up."""
    return math.floor(fraction * total + Fraction(1, 2))


def _phase_lengths(config: SchedulerConfig, prefix: str) -> tuple[int, int]:
    """``(W, C)``: the warmup and cooldown lengths, from steps or from fractions of the run.

    A fraction places a phase boundary at the nearest step (:func:`nearest_step`): the warmup
    ends at ``warmup_fraction * D``, the cooldown starts at ``(1 - cooldown_fraction) * D``.
    Rounding boundaries (not lengths), exactly, keeps ``W + C <= D`` whenever the fractions
    sum to at most 1.
    """
    total = config.decay_steps
    wsd_default = config.cooldown_steps == 0 and config.cooldown_fraction is None
    if canonical_name(config.name) == "wsd" and wsd_default:
        config = dataclasses.replace(config, cooldown_fraction=WSD_COOLDOWN_FRACTION)
    for kind in ("warmup", "cooldown"):
        steps, fraction = getattr(config, f"{kind}_steps"), getattr(config, f"{kind}_fraction")
        if fraction is not None and steps != 0:
            raise ScheduleConfigError(
                f"{prefix}{kind}_steps={steps} and {prefix}{kind}_fraction={fraction!r} are both "
                "set: set only one of them",
                field=f"{kind}_fraction",
            )
        if fraction is not None and total is None:
            raise _needs_length(prefix, f"{prefix}{kind}_fraction={fraction!r}")
    warmup_fraction, cooldown_fraction = config.warmup_fraction, config.cooldown_fraction
    if (
        warmup_fraction is not None
        and cooldown_fraction is not None
        and exact(warmup_fraction) + exact(cooldown_fraction) > 1
    ):
        raise ScheduleConfigError(
            f"{prefix}warmup_fraction={warmup_fraction!r} + {prefix}cooldown_fraction="
            f"{cooldown_fraction!r} > 1 is invalid: warmup and cooldown must fit in the run",
            field="cooldown_fraction",
        )
    warmup = config.warmup_steps
    if warmup_fraction is not None:
        warmup = nearest_step(exact(warmup_fraction), total)
    cooldown = config.cooldown_steps
    if cooldown_fraction is not None:
        cooldown = total - nearest_step(1 - exact(cooldown_fraction), total)
    return warmup, cooldown


def plan_phases(config: SchedulerConfig, prefix: str = "") -> tuple[Phase, ...]:
    """The phases of a normalized config's schedule, in order.

    Warmup ``[0, W)``, main ``[W, D - C)``, cooldown ``[D - C, D]``; the last phase holds its
    final value forever after. Empty phases are left out, except a main phase that is last.
    A constant or inverse-sqrt schedule without a cooldown needs no ``decay_steps``.
    """
    family = canonical_name(config.name)
    lr, total = config.lr, config.decay_steps
    end = _end_value(config, prefix) if family in DECAYING else None
    if family == "exponential" and end == 0:
        raise ScheduleConfigError(
            f"{prefix}end_lr={config.end_lr!r}, {prefix}end_lr_factor={config.end_lr_factor!r} "
            "is invalid: exponential decay needs an end value > 0; set end_lr or end_lr_factor",
            field="end_lr",
        )
    if family == "exponential" and not 0 < end / lr < math.inf:
        raise ScheduleConfigError(
            f"{prefix}lr={lr!r} to an end value of {end!r} is invalid: exponential decay needs "
            "a ratio end / lr that a float can hold",
            field="end_lr",
        )
    warmup, cooldown = _phase_lengths(config, prefix)
    if total is None and (family in DECAYING or cooldown > 0):
        raise _needs_length(prefix, "a cooldown" if cooldown > 0 else f"the {config.name} schedule")
    if family == "wsd" and cooldown == 0:
        if config.cooldown_fraction is None and config.cooldown_steps == 0:
            why = f"its default cooldown ({WSD_COOLDOWN_FRACTION:g} of the run) rounds to 0 steps"
        else:
            why = f"{prefix}cooldown_fraction={config.cooldown_fraction!r} gives no decay phase"
        raise ScheduleConfigError(
            f"{prefix}decay_steps={total}: a wsd schedule needs a decay phase, and {why}; set "
            f"{prefix}cooldown_steps or a larger {prefix}cooldown_fraction",
            field="cooldown_fraction",
        )
    if total is not None and warmup + cooldown > total:
        raise ScheduleConfigError(
            f"{prefix}warmup_steps={warmup} + {prefix}cooldown_steps={cooldown} > "
            f"{prefix}decay_steps={total} is invalid: warmup and cooldown must fit in decay_steps",
            field="decay_steps",
        )
    main = None if total is None else total - warmup - cooldown
    if family in DECAYING and main == 0:
        raise ScheduleConfigError(
            f"{prefix}decay_steps={total} - {prefix}warmup_steps={warmup} - "
            f"{prefix}cooldown_steps={cooldown} = 0 is invalid: the {config.name} schedule needs "
            "a main phase of at least one step",
            field="decay_steps",
        )

    if family in DECAYING:
        main_phase = Phase("main", warmup, main, family, lr, end, param=config.power)
    elif family == "inverse_sqrt":
        tau = config.timescale
        reached = 0.0 if main is None else lr * math.sqrt(tau / (tau + main))
        main_phase = Phase("main", warmup, main, "inverse_sqrt", lr, reached, param=tau)
    else:  # constant, wsd
        main_phase = Phase("main", warmup, main, "constant", lr, lr)

    phases = []
    if warmup > 0:
        phases.append(Phase("warmup", 0, warmup, config.warmup_shape, config.warmup_start_lr, lr))
    if main != 0 or cooldown == 0:
        phases.append(main_phase)
    if cooldown > 0:
        phases.append(
            Phase(
                "cooldown",
                total - cooldown,
                cooldown,
                config.cooldown_shape,
                main_phase.end_value,
                config.cooldown_lr,
            )
        )
    return tuple(phases)


#: The fields that shape only part of some schedules: what each needs to have an effect, and
#: whether a schedule has it, from its family and the kinds of phase it has.
_NEEDS: dict[str, tuple[str, Any]] = {
    "end_lr": (f"a decaying family ({', '.join(DECAYING)})", lambda f, _: f in DECAYING),
    "end_lr_factor": (f"a decaying family ({', '.join(DECAYING)})", lambda f, _: f in DECAYING),
    "power": ("the polynomial family", lambda f, _: f == "polynomial"),
    "timescale": ("the inverse_sqrt family", lambda f, _: f == "inverse_sqrt"),
    "warmup_start_lr": ("a warmup", lambda _, kinds: "warmup" in kinds),
    "warmup_shape": ("a warmup", lambda _, kinds: "warmup" in kinds),
    "cooldown_lr": ("a cooldown", lambda _, kinds: "cooldown" in kinds),
    "cooldown_shape": ("a cooldown", lambda _, kinds: "cooldown" in kinds),
}


def ineffective_fields(config: SchedulerConfig, phases: tuple[Phase, ...]) -> dict[str, str]:
    """The fields of a normalized config set to a value that changes nothing in ``phases``.

    A field is set when it differs from its default (the family's, for a field the family
    defaults); it has no effect when the schedule lacks what it shapes: an end value on a
    family that does not decay to one, ``power`` off the polynomial family, a warmup's start
    or shape without a warmup, a cooldown's end or shape without a cooldown. ``decay_steps``
    is the run's length, a fact about the run rather than a setting, and is never listed.

    Returns:
        Each such field mapped to what it would need to have an effect.
    """
    family = canonical_name(config.name)
    kinds = {phase.name for phase in phases}
    defaults = {f.name: f.default for f in dataclasses.fields(SchedulerConfig)}
    defaults["cooldown_shape"] = default_for(family, "cooldown_shape")
    return {
        field: needs
        for field, (needs, has_it) in _NEEDS.items()
        if getattr(config, field) != defaults[field] and not has_it(family, kinds)
    }
