"""Check a scheduler config and turn it into the phases of its schedule.

All validation lives here, with one message style: the field (as ``scheduler.<field>`` when
the config came from Hydra), the value it had, and what would be valid. Every check runs
when a schedule is built, so a bad config stops a run before training starts.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from hydra_optax_schedules.config import SCHEDULE_NAMES, SchedulerConfig, canonical_name
from hydra_optax_schedules.errors import ScheduleConfigError
from hydra_optax_schedules.shapes import Phase

__all__ = ["normalize", "plan_phases"]

# Two end values agree if they differ by float rounding only (3e-4 / 3e-3 != 0.1 exactly).
END_LR_REL_TOL = 1e-6


def _invalid(prefix: str, field: str, value: Any, valid: str) -> ScheduleConfigError:
    return ScheduleConfigError(f"{prefix}{field}={value!r} is invalid: {valid}", field=field)


def _real(prefix: str, field: str, value: Any, *, positive: bool = False) -> float:
    """A finite number, >= 0 (or > 0), as a Python float."""
    is_number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    bound = "> 0" if positive else ">= 0"
    if not is_number or not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise _invalid(prefix, field, value, f"expected a finite number {bound}")
    return float(value)


def _count(prefix: str, field: str, value: Any) -> int:
    """A whole number of steps >= 0, as a Python int (a float such as 100.0 is refused)."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 0:
        raise _invalid(prefix, field, value, "expected a whole number of steps >= 0")
    return int(value)


def normalize(config: SchedulerConfig, prefix: str = "") -> SchedulerConfig:
    """Check every field on its own and return a plain ``SchedulerConfig`` of Python values.

    Checks that involve several fields are :func:`plan_phases`'s job.
    """
    if canonical_name(config.name) is None:
        valid = ", ".join(repr(n) for n in SCHEDULE_NAMES)
        raise _invalid(prefix, "name", config.name, f"expected one of {valid}")

    def optional_real(field: str) -> float | None:
        value = getattr(config, field)
        return None if value is None else _real(prefix, field, value)

    return SchedulerConfig(
        lr=_real(prefix, "lr", config.lr, positive=True),
        name=config.name,
        decay_steps=None
        if config.decay_steps is None
        else _count(prefix, "decay_steps", config.decay_steps),
        end_lr=optional_real("end_lr"),
        end_lr_factor=optional_real("end_lr_factor"),
        cooldown_steps=_count(prefix, "cooldown_steps", config.cooldown_steps),
        warmup_steps=_count(prefix, "warmup_steps", config.warmup_steps),
        cooldown_lr=_real(prefix, "cooldown_lr", config.cooldown_lr),
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
    return 0.0 if factor is None else factor * config.lr


def plan_phases(config: SchedulerConfig, prefix: str = "") -> tuple[Phase, ...]:
    """The phases of a normalized config's schedule, in order, none of them empty.

    Warmup ``[0, W)``, main ``[W, D - C)``, cooldown ``[D - C, D]``; the last phase holds its
    final value forever after. A constant schedule without a cooldown needs no ``decay_steps``.
    """
    family = canonical_name(config.name)
    lr, warmup, cooldown, total = (
        config.lr,
        config.warmup_steps,
        config.cooldown_steps,
        config.decay_steps,
    )
    end = lr if family == "constant" else _end_value(config, prefix)
    if family == "exponential" and end == 0:
        raise ScheduleConfigError(
            f"{prefix}end_lr={config.end_lr!r}, {prefix}end_lr_factor={config.end_lr_factor!r} "
            "is invalid: exponential decay needs an end value > 0; set end_lr or end_lr_factor",
            field="end_lr",
        )
    if total is None and (family != "constant" or cooldown > 0):
        needs = "a cooldown" if family == "constant" else f"the {config.name} schedule"
        raise ScheduleConfigError(
            f"{prefix}decay_steps=None is invalid: {needs} needs the run length; set "
            f"{prefix}decay_steps or pass decay_steps=... to instantiate() / build_schedule()",
            field="decay_steps",
        )
    if total is not None and warmup + cooldown > total:
        raise ScheduleConfigError(
            f"{prefix}warmup_steps={warmup} + {prefix}cooldown_steps={cooldown} > "
            f"{prefix}decay_steps={total} is invalid: warmup and cooldown must fit in decay_steps",
            field="decay_steps",
        )
    main = None if total is None else total - warmup - cooldown
    if family != "constant" and main == 0:
        raise ScheduleConfigError(
            f"{prefix}decay_steps={total} - {prefix}warmup_steps={warmup} - "
            f"{prefix}cooldown_steps={cooldown} = 0 is invalid: the {config.name} schedule needs "
            "a main phase of at least one step",
            field="decay_steps",
        )

    phases = []
    if warmup > 0:
        phases.append(Phase("warmup", 0, warmup, "linear", 0.0, lr))
    if family == "constant":
        if cooldown == 0:  # the last phase: holds lr forever, whatever decay_steps says
            phases.append(Phase("main", warmup, None, "constant", lr, lr))
        elif main > 0:
            phases.append(Phase("main", warmup, main, "constant", lr, lr))
    else:
        phases.append(Phase("main", warmup, main, family, lr, end))
    if cooldown > 0:
        phases.append(
            Phase("cooldown", total - cooldown, cooldown, "linear", end, config.cooldown_lr)
        )
    return tuple(phases)
