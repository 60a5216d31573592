"""Check a scheduler config and turn it into the phases of its schedule.

All validation lives here, with one message style: the field (as ``scheduler.<field>`` when
the config came from Hydra), the value it had, and what would be valid. Every check runs
when a schedule is built, so a bad config stops a run before training starts.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import numbers
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any, cast

from hydra_optax_schedules.config import (
    COOLDOWN_SHAPES,
    DECAYING,
    SCHEDULE_NAMES,
    STAGE_SHAPES,
    WARMUP_SHAPES,
    WSD_COOLDOWN_FRACTION,
    SchedulerConfig,
    StageConfig,
    canonical_name,
    default_for,
)
from hydra_optax_schedules.errors import ScheduleConfigError
from hydra_optax_schedules.shapes import Phase, value_at

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
        return cast("int | float", value)
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
            valid = f"expected a number in {'(' if positive else '['}0, {at_most:g}]"
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
        cooldown_start=optional(_count, "cooldown_start"),
        cycles=_cycles(prefix, config.cycles),
        cycle_mult=_real(prefix, "cycle_mult", config.cycle_mult, positive=True),
        cycle_decay=_real(prefix, "cycle_decay", config.cycle_decay, positive=True),
        rewarmup_steps=_count(prefix, "rewarmup_steps", config.rewarmup_steps),
        rewarmup_fraction=optional(_real, "rewarmup_fraction", at_most=1.0),
        milestones=optional(_each, "milestones", each=_count),
        milestone_fractions=optional(_each, "milestone_fractions", each=_real),
        decay_factor=_real(prefix, "decay_factor", config.decay_factor, positive=True),
        stages=optional(_each, "stages", each=_stage),
    )


def _cycles(prefix: str, value: Any) -> int:
    """``cycles``: a whole number >= 1."""
    number = as_number(value)
    if not isinstance(number, int) or number < 1:
        raise _invalid(prefix, "cycles", value, "expected a whole number of cycles >= 1")
    return _count(prefix, "cycles", value)


def _each(prefix: str, field: str, value: Any, *, each: Any) -> tuple[Any, ...]:
    """The items of the list ``value``, each checked by ``each`` as ``field[i]``."""
    is_list = isinstance(value, Sequence) or getattr(value, "ndim", None) == 1
    if not is_list or isinstance(value, (str, bytes)):
        raise _invalid(prefix, field, value, "expected a list")
    return tuple(each(prefix, f"{field}[{i}]", item) for i, item in enumerate(value))


_STAGE_FIELDS = tuple(f.name for f in dataclasses.fields(StageConfig))


def _stage(prefix: str, field: str, value: Any) -> StageConfig:
    """One stage, from a ``StageConfig``, a mapping of its fields, or a stage's Hydra node."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if not isinstance(value, Mapping):
        raise _invalid(
            prefix, field, value, f"expected a mapping of stage fields ({', '.join(_STAGE_FIELDS)})"
        )
    for key in value:
        if key not in _STAGE_FIELDS:
            raise ScheduleConfigError(
                f"{prefix}{field}.{key} is not a stage field; valid fields: "
                f"{', '.join(_STAGE_FIELDS)}",
                field=f"{field}.{key}",
            )
    stage = StageConfig(**value)
    name = f"{field}."

    def optional(check: Any, key: str, **kwargs: Any) -> Any:
        item = getattr(stage, key)
        return None if item is None else check(prefix, name + key, item, **kwargs)

    steps = optional(_count, "steps")
    if steps == 0:
        raise _invalid(prefix, name + "steps", 0, "expected a whole number of steps >= 1")
    return StageConfig(
        steps=steps,
        fraction=optional(_real, "fraction", positive=True, at_most=1.0),
        shape=_choice(prefix, name + "shape", stage.shape, STAGE_SHAPES),
        start=optional(_rate, "start"),
        end=optional(_rate, "end"),
        power=_real(prefix, name + "power", stage.power, positive=True),
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
    wsd_default = canonical_name(config.name) == "wsd" and (
        config.cooldown_steps == 0 and config.cooldown_fraction is None
    )
    if wsd_default:
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
            if kind == "cooldown" and wsd_default:  # not the user's field: the family's
                default = f"whose default cooldown is {fraction:g} of the run"
                raise _needs_length(prefix, f"the {config.name} schedule, {default},")
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
        assert total is not None  # a fraction without the run length was refused above
        warmup = nearest_step(exact(warmup_fraction), total)
    cooldown = config.cooldown_steps
    if cooldown_fraction is not None:
        assert total is not None
        cooldown = total - nearest_step(1 - exact(cooldown_fraction), total)
    return warmup, cooldown


def plan_phases(config: SchedulerConfig, prefix: str = "") -> tuple[Phase, ...]:
    """The phases of a normalized config's schedule, in order.

    Warmup ``[0, W)``, the main phase ``[W, D - C)`` (one phase, or its cycles, milestones or
    stages), and the cooldown ``[D - C, D]``, or ``[S, S + C]`` from ``cooldown_start = S``;
    the last phase holds its final value forever after. Empty phases are left out, except a
    main phase that is last. A constant, inverse-sqrt, multistep or stages schedule without a
    cooldown needs no ``decay_steps`` (unless it gives lengths as fractions of it).
    """
    family = SCHEDULE_NAMES[config.name]  # normalized: a known name
    lr, total = config.lr, config.decay_steps
    end = _end_value(config, prefix) if family in DECAYING else None
    if family == "exponential" and end == 0:
        raise ScheduleConfigError(
            f"{prefix}end_lr={config.end_lr!r}, {prefix}end_lr_factor={config.end_lr_factor!r} "
            "is invalid: exponential decay needs an end value > 0; set end_lr or end_lr_factor",
            field="end_lr",
        )
    if family == "exponential" and end is not None and not 0 < end / lr < math.inf:
        raise ScheduleConfigError(
            f"{prefix}lr={lr!r} to an end value of {end!r} is invalid: exponential decay needs "
            "a ratio end / lr that a float can hold",
            field="end_lr",
        )
    if config.cycles > 1 and family not in DECAYING:
        raise _invalid(
            prefix,
            "cycles",
            config.cycles,
            f"only a decaying family ({', '.join(DECAYING)}) restarts; the {config.name} "
            "schedule has 1 cycle",
        )
    warmup, cooldown = _phase_lengths(config, prefix)
    branch = config.cooldown_start
    if branch is not None:
        _check_branch(config, prefix, warmup, cooldown)
    if total is None and (family in DECAYING or (cooldown > 0 and branch is None)):
        raise _needs_length(
            prefix, f"the {config.name} schedule" if family in DECAYING else "a cooldown"
        )
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
    in_main = 0 if branch is not None else cooldown  # a branched cooldown is not in D
    if total is not None and warmup + in_main > total:
        if branch is not None:
            message = (
                f"{prefix}warmup_steps={warmup} > {prefix}decay_steps={total} is invalid: the "
                "warmup must fit in decay_steps (the cooldown branches off at cooldown_start)"
            )
        else:
            message = (
                f"{prefix}warmup_steps={warmup} + {prefix}cooldown_steps={cooldown} > "
                f"{prefix}decay_steps={total} is invalid: warmup and cooldown must fit in "
                "decay_steps"
            )
        raise ScheduleConfigError(message, field="decay_steps")
    main = None if total is None else total - warmup - in_main
    if family in DECAYING and main == 0:
        # D less the phases in it: the warmup, and the cooldown unless it branches off.
        fitting = f"{prefix}decay_steps={total} - {prefix}warmup_steps={warmup}"
        if branch is None:
            fitting += f" - {prefix}cooldown_steps={cooldown}"
        raise ScheduleConfigError(
            f"{fitting} = 0 is invalid: the {config.name} schedule needs a main phase of at "
            "least one step",
            field="decay_steps",
        )

    pieces = _main_pieces(config, family, prefix, warmup, main, end)
    phases = []
    if warmup > 0:
        phases.append(Phase("warmup", 0, warmup, config.warmup_shape, config.warmup_start_lr, lr))
    if branch is not None:
        cooldown_from = value_at(tuple(pieces), tuple(p.start for p in pieces), branch)
        pieces = _until(pieces, branch)
    elif cooldown > 0:
        assert total is not None  # a cooldown without the run length was refused above
        branch, cooldown_from = total - cooldown, pieces[-1].end_value
    phases += pieces
    if cooldown > 0:
        assert branch is not None and config.cooldown_shape is not None  # normalized
        phases.append(
            Phase(
                "cooldown",
                branch,
                cooldown,
                config.cooldown_shape,
                cooldown_from,
                config.cooldown_lr,
            )
        )
    # Empty phases (a main phase of 0 steps) are left out, unless last: the value it holds.
    return tuple(p for i, p in enumerate(phases) if p.length != 0 or i == len(phases) - 1)


def _check_branch(config: SchedulerConfig, prefix: str, warmup: int, cooldown: int) -> None:
    """``cooldown_start`` lies after the warmup, and starts a cooldown of at least one step."""
    assert config.cooldown_start is not None
    if config.cooldown_start < warmup:
        raise _invalid(
            prefix,
            "cooldown_start",
            config.cooldown_start,
            f"the cooldown starts after the warmup: expected a step >= {prefix}warmup_steps="
            f"{warmup}",
        )
    if cooldown == 0 and config.cooldown_fraction is not None:
        raise ScheduleConfigError(
            f"{prefix}cooldown_start={config.cooldown_start} with {prefix}cooldown_fraction="
            f"{config.cooldown_fraction!r} is invalid: that fraction of {prefix}decay_steps="
            f"{config.decay_steps} rounds to a cooldown of 0 steps, and a branched cooldown "
            "needs at least 1",
            field="cooldown_fraction",
        )
    if cooldown == 0:
        raise ScheduleConfigError(
            f"{prefix}cooldown_start={config.cooldown_start} with {prefix}cooldown_steps=0 is "
            f"invalid: a branched cooldown needs a length; set {prefix}cooldown_steps >= 1 (or "
            f"{prefix}cooldown_fraction)",
            field="cooldown_steps",
        )


def _until(pieces: list[Phase], step: int) -> list[Phase]:
    """``pieces`` up to ``step``: the one running there cut, a hold to it if they end before."""
    kept = []
    for piece in pieces:
        if piece.end is not None and piece.end <= step:
            kept.append(piece)
        elif piece.start < step:
            kept.append(piece.cut(step - piece.start))
            return kept
        else:
            return kept
    last = pieces[-1]
    if last.end is not None and last.end < step:
        value = last.end_value
        kept.append(Phase("hold", last.end, step - last.end, "constant", value, value))
    return kept


def _main_pieces(
    config: SchedulerConfig, family: str, prefix: str, start: int, length: int | None, end: Any
) -> list[Phase]:
    """The main phase over ``[start, start + length)``: one phase, or the pieces it is made of
    (``length`` is ``None`` when the run's length is left open)."""
    lr = config.lr
    if family in DECAYING:
        assert length is not None  # a decaying family without the run length was refused
        return _cycle_pieces(config, family, prefix, start, length, end)
    if family == "inverse_sqrt":
        tau = config.timescale
        reached = 0.0 if length is None else lr * math.sqrt(tau / (tau + length))
        return [Phase("main", start, length, "inverse_sqrt", lr, reached, param=tau)]
    if family == "multistep":
        return _multistep_pieces(config, prefix, start, length)
    if family == "stages":
        return _stage_pieces(config, prefix, start, length)
    return [Phase("main", start, length, "constant", lr, lr)]  # constant, wsd


def _multistep_pieces(
    config: SchedulerConfig, prefix: str, start: int, length: int | None
) -> list[Phase]:
    """``lr * decay_factor ** k`` after the ``k``-th milestone: one constant piece each."""
    milestones, fractions = config.milestones, config.milestone_fractions
    if (milestones is None) == (fractions is None):
        both = "are both set" if milestones is not None else "are both unset"
        raise ScheduleConfigError(
            f"{prefix}milestones={show(milestones)} and {prefix}milestone_fractions="
            f"{show(fractions)} {both}: the multistep schedule needs exactly one of them",
            field="milestones",
        )
    field = "milestones" if fractions is None else "milestone_fractions"
    given = milestones if fractions is None else fractions
    if not given:
        raise _invalid(prefix, field, given, "expected at least one milestone")
    if fractions is not None:
        if config.decay_steps is None:
            raise _needs_length(prefix, f"{prefix}milestone_fractions")
        for i, fraction in enumerate(fractions):
            if not 0 < fraction < 1:
                raise _invalid(prefix, f"{field}[{i}]", fraction, "expected a number in (0, 1)")
        milestones = tuple(nearest_step(exact(f), config.decay_steps) for f in fractions)
    end = math.inf if length is None else start + length
    assert milestones is not None  # exactly one of milestones / milestone_fractions
    for i, step in enumerate(milestones):
        if not start < step < end:
            where = f"in ({start}, {end})" if length is not None else f"> {start}"
            raise _invalid(
                prefix,
                f"{field}[{i}]",
                given[i],
                f"expected a milestone step after the warmup and before the cooldown, {where}"
                + ("" if fractions is None else f"; it is step {step}"),
            )
        if i and step <= milestones[i - 1]:
            raise _invalid(
                prefix,
                f"{field}[{i}]",
                given[i],
                f"milestones must be strictly increasing; it is step {step}, after step "
                f"{milestones[i - 1]}",
            )
    pieces = []
    for k, (first, after) in enumerate(zip((start, *milestones), (*milestones, end), strict=True)):
        try:
            value = config.lr * config.decay_factor**k
        except OverflowError:
            value = math.inf
        if not 0 < value <= MAX_LR:
            raise ScheduleConfigError(
                f"{prefix}decay_factor={config.decay_factor!r} is invalid with {k} milestones: "
                f"lr * decay_factor ** {k} = {value!r} must be a learning rate > 0 that "
                f"float32 holds (<= {MAX_LR:.4g})",
                field="decay_factor",
            )
        name = "main" if k == 0 else f"milestone {k}"
        steps = None if after == math.inf else int(after) - first
        pieces.append(Phase(name, first, steps, "constant", value, value))
    return pieces


def _stage_pieces(
    config: SchedulerConfig, prefix: str, start: int, length: int | None
) -> list[Phase]:
    """The stages, one piece each, laid end to end from ``start``; they must cover the main
    phase exactly when its length is known."""
    stages = config.stages
    if not stages:
        raise _invalid(
            prefix, "stages", stages, "expected a list of at least one stage (steps, shape, ...)"
        )
    lengths: list[int | None] = []
    for j, stage in enumerate(stages):
        name = f"stages[{j}]."
        if stage.steps is not None and stage.fraction is not None:
            raise ScheduleConfigError(
                f"{prefix}{name}steps={stage.steps} and {prefix}{name}fraction="
                f"{stage.fraction!r} are both set: set only one of them",
                field=f"{name}fraction",
            )
        if stage.steps is not None:
            lengths.append(stage.steps)
        elif stage.fraction is not None:
            if config.decay_steps is None:
                raise _needs_length(prefix, f"{prefix}{name}fraction")
            steps = nearest_step(exact(stage.fraction), config.decay_steps)
            if steps == 0:
                raise _invalid(
                    prefix,
                    f"{name}fraction",
                    stage.fraction,
                    f"it rounds to 0 steps of {prefix}decay_steps={config.decay_steps}",
                )
            lengths.append(steps)
        elif j < len(stages) - 1:
            raise ScheduleConfigError(
                f"{prefix}stages[{j}] has neither steps nor fraction: only the last stage may "
                "take the rest of the main phase; set its steps or fraction",
                field=f"{name}steps",
            )
        elif length is None:
            raise _needs_length(prefix, f"{prefix}stages[{j}] (the rest of the main phase)")
        else:
            lengths.append(None)
    covered = sum(n for n in lengths if n is not None)
    if lengths[-1] is None:
        assert length is not None  # a rest stage without the run length was refused above
        if covered >= length:
            raise ScheduleConfigError(
                f"{prefix}stages before the last cover {covered} steps, and the main phase has "
                f"{length}: the last stage, which takes the rest, would be empty",
                field="stages",
            )
        lengths[-1] = length - covered
    elif length is not None and covered != length:
        span = (
            "decay_steps - warmup_steps: the cooldown branches off at cooldown_start"
            if config.cooldown_start is not None
            else "decay_steps - warmup_steps - cooldown_steps"
        )
        raise ScheduleConfigError(
            f"{prefix}stages cover {covered} steps, but the main phase has {length} ({span}): "
            "the stages must cover it exactly",
            field="stages",
        )
    pieces, begin, previous = [], start, 1.0
    for j, (stage, steps) in enumerate(zip(stages, cast("list[int]", lengths), strict=True)):
        name = f"stages[{j}]."
        first = previous if stage.start is None else stage.start
        last = first if stage.end is None else stage.end
        if stage.shape == "constant" and last != first:
            raise ScheduleConfigError(
                f"{prefix}{name}end={last!r} is invalid: a constant stage holds its start "
                f"({first!r}); leave end unset, or use another shape",
                field=f"{name}end",
            )
        for key, multiple in (("start", first), ("end", last)):
            value = config.lr * multiple
            if value > MAX_LR:
                raise _invalid(
                    prefix,
                    name + key,
                    multiple,
                    f"lr * {key} = {value!r} must be a learning rate float32 holds "
                    f"(<= {MAX_LR:.4g})",
                )
            if stage.shape == "exponential" and not value > 0:
                raise _invalid(
                    prefix, name + key, multiple, "an exponential stage needs start and end > 0"
                )
        pieces.append(
            Phase(
                f"stage {j}",
                begin,
                steps,
                stage.shape,
                config.lr * first,
                config.lr * last,
                param=stage.power,
            )
        )
        begin, previous = begin + steps, last
    return pieces


def _cycle_pieces(
    config: SchedulerConfig, family: str, prefix: str, start: int, length: int, end: float
) -> list[Phase]:
    """A decaying main phase: ``cycles`` cycles, each from its peak to ``end``, each after the
    first starting with its rewarmup (see ``cycle_boundaries``)."""
    if config.cycles == 1:
        return [Phase("main", start, length, family, config.lr, end, param=config.power)]
    offsets = _cycle_offsets(config, prefix, length)
    pieces = []
    for i, (first, after) in enumerate(itertools.pairwise(offsets)):
        cycle = after - first
        rewarmup = 0 if i == 0 else _rewarmup(config, prefix, i, cycle)
        peak = _peak(config, prefix, i, family, end)
        if rewarmup:
            pieces.append(
                Phase(f"rewarmup {i}", start + first, rewarmup, config.warmup_shape, end, peak)
            )
        pieces.append(
            Phase(
                f"cycle {i}",
                start + first + rewarmup,
                cycle - rewarmup,
                family,
                peak,
                end,
                param=config.power,
            )
        )
    return pieces


def _cycle_offsets(config: SchedulerConfig, prefix: str, length: int) -> list[int]:
    """Where each cycle starts in the main phase, and its end: ``floor(M * S_i / S_n + 1/2)``
    with ``S_i = m^0 + ... + m^(i-1)`` in exact rationals (``m = cycle_mult``)."""
    n, mult = config.cycles, exact(config.cycle_mult)

    def too_short(why: str) -> ScheduleConfigError:
        return ScheduleConfigError(
            f"{prefix}cycles={n} with {prefix}cycle_mult={config.cycle_mult!r} is invalid over "
            f"a main phase of {length} steps: {why}; every cycle needs at least 1 step",
            field="cycles",
        )

    if n > length:
        raise too_short(f"{n} cycles do not fit in {length} steps")
    if mult != 1:
        # The shortest cycle is about M * |m - 1| * min(1, m^(n-1)) / |m^n - 1|: refuse a
        # config whose shortest cycle is far below one step before computing m^n exactly.
        log_m = math.log(mult)
        log_shortest = (
            math.log(length)
            + math.log(abs(mult - 1))
            + min(0.0, (n - 1) * log_m)
            - max(0.0, n * log_m)
            - math.log1p(-math.exp(-abs(n * log_m)))
        )
        if log_shortest < math.log(0.25):
            raise too_short("the shortest cycle would be less than a step long")
        offsets = _geometric_offsets(mult, n, length)
    else:
        offsets = [nearest_step(Fraction(i, n), length) for i in range(n + 1)]
    for i, (first, after) in enumerate(itertools.pairwise(offsets)):
        if after - first < 1:
            raise too_short(f"cycle {i} would be {after - first} steps long")
    return offsets


def _geometric_offsets(mult: Fraction, n: int, length: int) -> list[int]:
    """``floor(M * S_i / S_n + 1/2)`` for ``i = 0..n``, ``S_i = (m^i - 1) / (m - 1)``, exactly.

    With ``m = p / q``, ``S_i / S_n = (p^i q^(n-i) - q^n) / (p^n - q^n)``: integers whose
    terms are found one from the next (``* p // q``, exact), so the work grows with ``n`` times
    the numbers' size, not with ``n`` powers of a fraction each reduced by a gcd.
    """
    p, q = mult.numerator, mult.denominator
    base = q**n
    denominator = p**n - base
    offsets = []
    term = base  # p^i q^(n-i), from i = 0
    for i in range(n + 1):
        offsets.append((2 * length * (term - base) + denominator) // (2 * denominator))
        if i < n:
            term = term // q * p
    return offsets


def _rewarmup(config: SchedulerConfig, prefix: str, i: int, cycle: int) -> int:
    """``R_i``: the rewarmup of cycle ``i >= 1``, which must leave a step to decay."""
    steps, fraction = config.rewarmup_steps, config.rewarmup_fraction
    if fraction is not None and steps != 0:
        raise ScheduleConfigError(
            f"{prefix}rewarmup_steps={steps} and {prefix}rewarmup_fraction={fraction!r} are "
            "both set: set only one of them",
            field="rewarmup_fraction",
        )
    field = "rewarmup_steps" if fraction is None else "rewarmup_fraction"
    rewarmup = steps if fraction is None else nearest_step(exact(fraction), cycle)
    if cycle - rewarmup < 1:
        raise ScheduleConfigError(
            f"{prefix}cycles={config.cycles} with {prefix}{field}={getattr(config, field)!r} is "
            f"invalid: cycle {i} is {cycle} steps long, and its rewarmup of {rewarmup} steps "
            "leaves no step to decay; use fewer cycles or a shorter rewarmup",
            field="cycles",
        )
    return rewarmup


def _peak(config: SchedulerConfig, prefix: str, i: int, family: str, end: float) -> float:
    """``p_i = lr * cycle_decay ** i``: a learning rate float32 holds (and, for an exponential
    decay, one that ``end / p_i`` is a float's ratio of)."""
    try:
        peak = config.lr * config.cycle_decay**i
    except OverflowError:
        peak = math.inf
    valid = 0 < peak <= MAX_LR
    if valid and family == "exponential":
        valid = 0 < end / peak < math.inf
    if not valid:
        raise ScheduleConfigError(
            f"{prefix}cycle_decay={config.cycle_decay!r} is invalid with {prefix}cycles="
            f"{config.cycles}: the peak of cycle {i}, lr * cycle_decay ** {i} = {peak!r}, must "
            f"be a learning rate > 0 that float32 holds (<= {MAX_LR:.4g})"
            + (" and a ratio end / peak a float holds" if family == "exponential" else ""),
            field="cycle_decay",
        )
    return peak


#: The fields that shape only part of some schedules: what each needs to have an effect, and
#: whether a schedule has it, from its family, the kinds of phase it has (``"warmup"``,
#: ``"rewarmup"``, ``"cycle"``, ``"cooldown"``, ...) and its config.
_NEEDS: dict[str, tuple[str, Any]] = {
    "end_lr": (f"a decaying family ({', '.join(DECAYING)})", lambda f, _, __: f in DECAYING),
    "end_lr_factor": (
        f"a decaying family ({', '.join(DECAYING)})",
        lambda f, _, __: f in DECAYING,
    ),
    "power": ("the polynomial family", lambda f, _, __: f == "polynomial"),
    "timescale": ("the inverse_sqrt family", lambda f, _, __: f == "inverse_sqrt"),
    "warmup_start_lr": ("a warmup", lambda _, kinds, __: "warmup" in kinds),
    "warmup_shape": ("a warmup or a rewarmup", lambda _, kinds, __: kinds & {"warmup", "rewarmup"}),
    "cooldown_lr": ("a cooldown", lambda _, kinds, __: "cooldown" in kinds),
    "cooldown_shape": ("a cooldown", lambda _, kinds, __: "cooldown" in kinds),
    "cycle_mult": ("cycles > 1", lambda f, _, c: f in DECAYING and c.cycles > 1),
    "cycle_decay": ("cycles > 1", lambda f, _, c: f in DECAYING and c.cycles > 1),
    "rewarmup_steps": ("cycles > 1", lambda f, _, c: f in DECAYING and c.cycles > 1),
    "rewarmup_fraction": ("cycles > 1", lambda f, _, c: f in DECAYING and c.cycles > 1),
    "milestones": ("the multistep family", lambda f, _, __: f == "multistep"),
    "milestone_fractions": ("the multistep family", lambda f, _, __: f == "multistep"),
    "decay_factor": ("the multistep family", lambda f, _, __: f == "multistep"),
    "stages": ("the stages family", lambda f, _, __: f == "stages"),
}


def ineffective_fields(
    config: SchedulerConfig, phases: tuple[Phase, ...]
) -> dict[str, tuple[Any, str]]:
    """The fields of a normalized config set to a value that changes nothing in ``phases``.

    A field is set when it differs from its default (the family's, for a field the family
    defaults); it has no effect when the schedule lacks what it shapes: an end value on a
    family that does not decay to one, ``power`` off the polynomial family, a warmup's start
    or shape without a warmup (or, for the shape, a rewarmup), a cooldown's end or shape
    without a cooldown, the shape of cycles without cycles, milestones off the multistep
    family, stages off the stages family, a stage's ``power`` off a polynomial stage.
    ``decay_steps`` is the run's length, a fact about the run rather than a setting, and is
    never listed.

    Returns:
        Each such field (``"power"``, ``"stages[1].power"``) mapped to its value and to what
        it would need to have an effect.
    """
    family = SCHEDULE_NAMES[config.name]  # normalized: a known name
    kinds = {phase.name.split()[0] for phase in phases}
    defaults = {f.name: f.default for f in dataclasses.fields(SchedulerConfig)}
    defaults["cooldown_shape"] = default_for(family, "cooldown_shape")
    ignored = {
        field: (getattr(config, field), needs)
        for field, (needs, has_it) in _NEEDS.items()
        if getattr(config, field) != defaults[field] and not has_it(family, kinds, config)
    }
    if family == "stages":
        for j, stage in enumerate(config.stages or ()):
            if stage.shape != "polynomial" and stage.power != StageConfig.power:  # its default
                ignored[f"stages[{j}].power"] = (stage.power, "a polynomial stage")
    return ignored
