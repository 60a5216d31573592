"""Every message a config error shows, worded once: the field, its value, what is valid.

The config checks (:mod:`.config`), the planner (:mod:`.plan`) and the loader
(:mod:`.safe_load`) raise these, so that one mistake reads the same on every path. ``prefix``
is where the config sits (``"scheduler."`` when it came from Hydra, ``""`` from Python).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from hydra_optax_schedules.errors import ScheduleConfigError
from hydra_optax_schedules.values import show

__all__ = [
    "both_set",
    "counted_in_steps",
    "from_run_length",
    "invalid",
    "missing",
    "missing_required",
    "needs_length",
    "run_length_conflict",
    "run_steps_invalid",
    "unknown_field",
]

#: The keyword that gives a builder the run length a trainer counts at runtime.
RUN_STEPS = "run_steps"


def invalid(prefix: str, field: str, value: Any, valid: str) -> ScheduleConfigError:
    """``scheduler.lr=-1 is invalid: expected ...``."""
    return ScheduleConfigError(f"{prefix}{field}={show(value)} is invalid: {valid}", field=field)


#: Names other schedulers give to a field (optax, timm, Keras, PyTorch), and the field.
_KNOWN_AS = {
    "learning_rate": "lr",
    "peak_lr": "lr",
    "max_lr": "lr",
    "init_value": "lr",
    "min_lr": "end_lr",
    "final_lr": "end_lr",
    "end_value": "end_lr",
    "eta_min": "end_lr",
    "alpha": "end_lr_factor",
    "total_steps": "decay_steps",
    "max_steps": "decay_steps",
    "num_steps": "decay_steps",
    "transition_steps": "decay_steps",
    "warmup_init_lr": "warmup_start_lr",
    "warmup_lr": "warmup_start_lr",
    "t_mult": "cycle_mult",
    "gamma": "decay_factor",
}


def close_names(key: str, valid: Iterable[str]) -> list[str]:
    """The valid names ``key`` may have meant: those it begins (``warmup`` -> ``warmup_steps``,
    ``warmup_fraction``, ...), those spelled nearly alike (``lrr`` -> ``lr``), and the field
    other schedulers' name stands for (``min_lr`` -> ``end_lr``), most alike first."""
    names = list(valid)
    lowered = key.lower()
    wanted = {name for name in names if name.startswith(f"{lowered}_") or name == lowered + "s"}
    wanted |= set(difflib.get_close_matches(lowered, names, n=3, cutoff=0.75))
    if _KNOWN_AS.get(lowered) in names:
        wanted.add(_KNOWN_AS[lowered])

    def likeness(name: str) -> float:
        return -difflib.SequenceMatcher(None, lowered, name).ratio()

    return sorted(wanted, key=lambda name: (likeness(name), names.index(name)))


def unknown_field(prefix: str, key: Any, valid: Iterable[str], what: str) -> ScheduleConfigError:
    """``scheduler.warmup is not a scheduler field; did you mean warmup_steps, ...? valid
    fields: lr, name, ...``."""
    name = key if isinstance(key, str) else show(key)
    valid = list(valid)
    close = close_names(name.rsplit(".", 1)[-1], valid) if isinstance(key, str) else []
    guess = ""
    if close:
        listed = close[0] if len(close) == 1 else f"{', '.join(close[:-1])} or {close[-1]}"
        guess = f" did you mean {listed}?"
    return ScheduleConfigError(
        f"{prefix}{name} is not a {what} field;{guess} valid fields: {', '.join(valid)}",
        field=str(name),
    )


def missing(prefix: str, field: str, why: str) -> ScheduleConfigError:
    """``scheduler.lr is missing: the peak learning rate is required``."""
    return ScheduleConfigError(f"{prefix}{field} is missing: {why}", field=field)


#: Why a field without a default must be given.
_REQUIRED = {"lr": "the peak learning rate is required"}


def missing_required(prefix: str, field: str) -> ScheduleConfigError:
    """``scheduler.lr is missing: the peak learning rate is required``."""
    return missing(prefix, field, _REQUIRED.get(field, "the field has no default"))


def both_set(prefix: str, first: str, value: Any, second: str, other: Any) -> ScheduleConfigError:
    """``warmup_steps=10 and warmup_fraction=0.1 are both set: set only one of them``."""
    return ScheduleConfigError(
        f"{prefix}{first}={value!r} and {prefix}{second}={other!r} are both set: set only one "
        "of them",
        field=second,
    )


def needs_length(prefix: str, what: str) -> ScheduleConfigError:
    """``decay_steps=None is invalid: <what> needs the run length; ...``."""
    return ScheduleConfigError(
        f"{prefix}decay_steps=None is invalid: {what} needs the run length; set "
        f"{prefix}decay_steps or pass {RUN_STEPS}=... to instantiate() / build_schedule()",
        field="decay_steps",
    )


def run_steps_invalid(value: Any) -> ScheduleConfigError:
    """``run_steps=0 is invalid: expected the run length, ...``."""
    return ScheduleConfigError(
        f"{RUN_STEPS}={show(value)} is invalid: expected the run length, a whole number of "
        "steps in [1, 2**63)",
        field=RUN_STEPS,
    )


def run_length_conflict(prefix: str, decay_steps: int, run_steps: int) -> ScheduleConfigError:
    """``decay_steps=100 (set in the config) and run_steps=300 (...) disagree: ...``."""
    return ScheduleConfigError(
        f"{prefix}decay_steps={decay_steps} (set in the config) and {RUN_STEPS}={run_steps} "
        "(the run length passed when the schedule is built) disagree: leave "
        f"{prefix}decay_steps unset to take the run length, or set it to {run_steps}",
        field="decay_steps",
    )


def from_run_length(error: ScheduleConfigError, prefix: str, run_steps: int) -> ScheduleConfigError:
    """``error``, about a ``decay_steps`` the config left unset, saying where it came from."""
    return ScheduleConfigError(
        f"{error} ({prefix}decay_steps is the run length, {RUN_STEPS}={run_steps})",
        field=error.field,
    )


def counted_in_steps(
    prefix: str, field: str, value: Any, unit: str, twin: str
) -> ScheduleConfigError:
    """``warmup_steps=100 counts steps, but units.unit='tokens' counts tokens: ...``."""
    return ScheduleConfigError(
        f"{prefix}{field}={show(value)} counts steps, but {prefix}units.unit={unit!r} counts "
        f"the run in {unit}: a length in steps is not a length in {unit} when the batch size "
        f"changes, so one config counts in one unit; set {twin} instead",
        field=field,
    )
