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
from hydra_optax_schedules.values import MAX_COUNT, show

__all__ = [
    "both_set",
    "counted_in_steps",
    "from_resume_step",
    "from_run_length",
    "invalid",
    "missing",
    "missing_required",
    "needs_length",
    "needs_resume_step",
    "resume_changes",
    "resume_moved",
    "resume_step_invalid",
    "run_length_conflict",
    "run_steps_invalid",
    "too_many",
    "unknown_field",
]

#: The keyword that gives a builder the run length a trainer counts at runtime.
RUN_STEPS = "run_steps"
#: The keyword that gives a builder the step a run resumed at, at runtime.
RESUME_STEP = "resume_step"
#: The value of ``cooldown_start`` that means "the step the run resumed at".
RESUME = "resume"


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


def too_many(
    prefix: str, field: str, count: int, what: str, *, more_than: bool = False
) -> ScheduleConfigError:
    """``scheduler.cycles=20000 is invalid: at most MAX_COUNT = 10000 cycles ...``: a count
    past the limit that keeps building, loading and previewing bounded; ``more_than``: a
    count not read to its end (``scheduler.milestones has more than 10000 items``)."""
    at_least = "more than " if more_than else ""
    given = f"={count}" if what == field else f" has {at_least}{count} {what}"
    return ScheduleConfigError(
        f"{prefix}{field}{given}, which is invalid: at most MAX_COUNT = {MAX_COUNT} {what} are "
        "accepted (a limit of hydra_optax_schedules.values, so that building, loading and "
        "previewing a schedule stays within seconds and well under 1 GB)",
        field=field,
    )


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
    article = "an" if what[:1] in ("a", "e", "i", "o") else "a"  # "a units field"
    return ScheduleConfigError(
        f"{prefix}{name} is not {article} {what} field;{guess} valid fields: {', '.join(valid)}",
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


def run_length_conflict(
    prefix: str,
    decay_steps: Any,
    run_steps: Any,
    given: str = RUN_STEPS,
    passed: str = "the run length passed when the schedule is built",
) -> ScheduleConfigError:
    """``decay_steps=100 (set in the config) and run_steps=300 (...) disagree: ...``."""
    return ScheduleConfigError(
        f"{prefix}decay_steps={decay_steps} (set in the config) and {given}={run_steps} "
        f"({passed}) disagree: leave "
        f"{prefix}decay_steps unset to take the run length, or set it to {run_steps}",
        field="decay_steps",
    )


def from_run_length(error: ScheduleConfigError, prefix: str, run_steps: int) -> ScheduleConfigError:
    """``error``, about a ``decay_steps`` the config left unset, saying where it came from."""
    return ScheduleConfigError(
        f"{error} ({prefix}decay_steps is the run length, {RUN_STEPS}={run_steps})",
        field=error.field,
    )


def needs_resume_step(prefix: str) -> ScheduleConfigError:
    """``cooldown_start='resume' needs the step the run resumed at; pass resume_step=...``."""
    return ScheduleConfigError(
        f"{prefix}cooldown_start={RESUME!r} needs the step the run resumed at, and none was "
        f"given: pass {RESUME_STEP}=... (the restored optimizer's count; docs/resume.md) when "
        "the schedule is built, as the run length is passed (instantiate(), build_schedule(), "
        "build_lr_scheduler(), load_schedule(), build_optimizer()), or set "
        f"{prefix}cooldown_start to a step",
        field="cooldown_start",
    )


def resume_step_invalid(value: Any) -> ScheduleConfigError:
    """``resume_step=-1 is invalid: expected the step the run resumed at, ...``."""
    return ScheduleConfigError(
        f"{RESUME_STEP}={show(value)} is invalid: expected the step the run resumed at (the "
        "optimizer's count), a whole number of steps in [0, 2**63)",
        field=RESUME_STEP,
    )


def from_resume_step(error: ScheduleConfigError, prefix: str, step: int) -> ScheduleConfigError:
    """``error``, about a ``cooldown_start`` the config gave as ``'resume'``, saying so."""
    return ScheduleConfigError(
        f"{error} ({prefix}cooldown_start={RESUME!r} is the resume step, {RESUME_STEP}={step})",
        field=error.field,
    )


def _two(before: float, after: float) -> tuple[str, str]:
    """Two values with the fewest significant digits (3 at least) that tell them apart."""
    for digits in range(3, 18):
        shown = f"{before:.{digits}g}", f"{after:.{digits}g}"
        if shown[0] != shown[1]:
            return shown
    return repr(before), repr(after)


def _fields(prefix: str, fields: Iterable[tuple[str, Any, Any]]) -> str:
    """``decay_steps 100000 -> 120000, warmup_steps 10 -> 20``."""
    shown = [f"{prefix}{name} {show(saved)} -> {show(current)}" for name, saved, current in fields]
    return ", ".join(shown) if shown else "the same config"


def _moves(change: Any, where: str) -> str:
    """``moves lr at step 40000 from 0.00021 to 0.00024``."""
    if change.before == change.after:  # different formulas that agree where compared
        return f"changes the formula of lr from step {change.step} {where}".rstrip()
    before, after = _two(change.before, change.after)
    return f"moves lr at step {change.step} {where}from {before} to {after}"


def resume_moved(
    prefix: str,
    fields: Iterable[tuple[str, Any, Any]],
    change: Any,
    step: int,
    at_step: tuple[float, float],
    policy: str = "policy=",
) -> ScheduleConfigError:
    """``scheduler.decay_steps 100000 -> 120000 moves lr at step 40000 from 0.000196 to
    0.000225 (the resume step; first at step 1, from ... to ...): ...``: a resumed config that
    changes a value the run used or its next update uses. The values at the resume step
    (``at_step``) lead if they moved, then ``change``, the first step found that moved;
    ``policy`` is how the caller sets the policy (``resume_policy=``)."""
    fields = list(fields)
    if change.step != step and at_step[0] != at_step[1]:
        before, after = _two(*at_step)
        first = _moves(change, "").replace("moves lr at step", "first at step", 1)
        first = first.replace(" from ", ", from ", 1)
        moves = f"moves lr at step {step} from {before} to {after} (the resume step; {first})"
    else:
        moves = f"{_moves(change, '')} (resuming at step {step})"
    return ScheduleConfigError(
        f"{_fields(prefix, fields)} {moves}: the values up to the resume step must be the "
        f"checkpoint's; restore the saved config, or resume with {policy}config (train on the "
        f"new schedule) or {policy}checkpoint (keep the saved one)",
        field=fields[0][0] if fields else "",
    )


def resume_changes(
    prefix: str, fields: Iterable[tuple[str, Any, Any]], moved: Any, reshaped: Any
) -> str:
    """What a resume changed, for its report: the fields, and the first value moved at or
    before the resume step and after it."""
    parts = []
    if moved is not None:
        parts.append(_moves(moved, "(at or before the resume step) "))
    if reshaped is not None:
        future = _moves(reshaped, "(after the resume step) ")
        parts.append(future if moved is not None else f"reshapes the future: {future}")
    if not parts:
        parts.append("leaves every value of lr unchanged")
    return f"{_fields(prefix, fields)} {' and '.join(parts)}"


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
