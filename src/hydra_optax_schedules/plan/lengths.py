"""Lengths from fractions of the run, exactly: the warmup, the cooldown, the end value.

A fraction places a boundary at the nearest step of ``fraction * decay_steps``, computed in
exact rationals from the decimal the user wrote (:func:`exact`, :func:`nearest_step`), so a
boundary never moves by float rounding.
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

from hydra_optax_schedules.config.families import WSD_COOLDOWN_FRACTION
from hydra_optax_schedules.config.normalize import NormalizedConfig
from hydra_optax_schedules.config.schema import FRACTION_FIELDS
from hydra_optax_schedules.errors import ScheduleConfigError
from hydra_optax_schedules.messages import both_set, needs_length
from hydra_optax_schedules.values import F32_RANGE, f32_holds

__all__ = [
    "END_LR_REL_TOL",
    "cooldown_branch",
    "derived",
    "end_value",
    "exact",
    "nearest_step",
    "warmup_cooldown",
]

# Two end values agree if they differ by float rounding only (3e-4 / 3e-3 != 0.1 exactly).
END_LR_REL_TOL = 1e-6


def end_value(config: NormalizedConfig, prefix: str) -> float:
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
    if not f32_holds(factor * config.lr):
        raise ScheduleConfigError(
            f"{prefix}end_lr_factor={factor!r} * {prefix}lr={config.lr!r} is invalid: the end "
            f"learning rate must be one that float32 holds (0, or {F32_RANGE})",
            field="end_lr_factor",
        )
    return factor * config.lr


def exact(fraction: float) -> Fraction:
    """The decimal number a fraction was written as: ``exact(0.35) == Fraction(35, 100)``.

    ``repr`` of a float is the shortest decimal that reads back as it, which is what its
    user wrote; the float itself (``0.34999999999999997779...``) is not.
    """
    return Fraction(repr(float(fraction)))


def nearest_step(fraction: Fraction, total: int) -> int:
    """The step nearest ``fraction * total`` (exact rationals); halves round up."""
    return math.floor(fraction * total + Fraction(1, 2))


def warmup_cooldown(config: NormalizedConfig, prefix: str) -> tuple[int, int]:
    """``(W, C)``: the warmup and cooldown lengths, from steps or from fractions of the run.

    A fraction places a phase boundary at the nearest step (:func:`nearest_step`): the warmup
    ends at ``warmup_fraction * D``, the cooldown starts at ``(1 - cooldown_fraction) * D``.
    Rounding boundaries (not lengths), exactly, keeps ``W + C <= D`` whenever the fractions
    sum to at most 1.
    """
    total = config.decay_steps
    wsd_default = _uses_wsd_default(config)
    if wsd_default:
        config = dataclasses.replace(config, cooldown_fraction=WSD_COOLDOWN_FRACTION)
    for kind in ("warmup", "cooldown"):
        steps, fraction = getattr(config, f"{kind}_steps"), getattr(config, f"{kind}_fraction")
        if fraction is not None and steps != 0:
            raise both_set(prefix, f"{kind}_steps", steps, f"{kind}_fraction", fraction)
        if fraction is not None and total is None:
            if kind == "cooldown" and wsd_default:  # not the user's field: the family's
                default = f"whose default cooldown is {fraction:g} of the run"
                raise needs_length(prefix, f"the {config.name} schedule, {default},")
            raise needs_length(prefix, f"{prefix}{kind}_fraction={fraction!r}")
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


def cooldown_branch(config: NormalizedConfig, prefix: str) -> int | None:
    """``S``, the step a branched cooldown starts at: ``cooldown_start``, or the step nearest
    ``cooldown_start_fraction * D`` (:func:`nearest_step`); ``None`` without a branch."""
    step: int | None = config.cooldown_start  # "resume" is the resume step once normalized
    fraction = config.cooldown_start_fraction
    assert not isinstance(step, str)
    if fraction is None:
        return step
    if step is not None:
        raise both_set(prefix, "cooldown_start", step, "cooldown_start_fraction", fraction)
    if config.decay_steps is None:
        raise needs_length(prefix, f"{prefix}cooldown_start_fraction={fraction!r}")
    return nearest_step(exact(fraction), config.decay_steps)


def _uses_wsd_default(config: NormalizedConfig) -> bool:
    """Whether the cooldown is ``wsd``'s default: neither cooldown field is set."""
    return (
        config.family == "wsd" and config.cooldown_steps == 0 and config.cooldown_fraction is None
    )


def derived(config: NormalizedConfig, prefix: str, field: str, value: int) -> str:
    """``warmup_steps=3`` for a message, and where a length the config did not write came
    from: ``warmup_steps=3 (from warmup_fraction=0.05 of decay_steps=50)``.

    ``field`` is ``warmup_steps``, ``cooldown_steps`` or ``cooldown_start``; ``value`` is its
    value in the plan."""
    text = f"{prefix}{field}={value}"
    fraction_field = FRACTION_FIELDS[field]
    fraction = getattr(config, fraction_field)
    of = f"of {prefix}decay_steps={config.decay_steps}"
    if fraction is not None:
        return f"{text} (from {prefix}{fraction_field}={fraction!r} {of})"
    if field == "cooldown_steps" and _uses_wsd_default(config) and value:
        return f"{text} (wsd's default cooldown, {WSD_COOLDOWN_FRACTION:g} {of})"
    return text
