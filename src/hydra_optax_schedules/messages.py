"""Every message a config error shows, worded once: the field, its value, what is valid.

The config checks (:mod:`.config`), the planner (:mod:`.plan`) and the loader
(:mod:`.safe_load`) raise these, so that one mistake reads the same on every path. ``prefix``
is where the config sits (``"scheduler."`` when it came from Hydra, ``""`` from Python).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hydra_optax_schedules.errors import ScheduleConfigError
from hydra_optax_schedules.values import show

__all__ = [
    "both_set",
    "invalid",
    "missing",
    "missing_required",
    "needs_length",
    "unknown_field",
]


def invalid(prefix: str, field: str, value: Any, valid: str) -> ScheduleConfigError:
    """``scheduler.lr=-1 is invalid: expected ...``."""
    return ScheduleConfigError(f"{prefix}{field}={show(value)} is invalid: {valid}", field=field)


def unknown_field(prefix: str, key: Any, valid: Iterable[str], what: str) -> ScheduleConfigError:
    """``scheduler.lrr is not a scheduler field; valid fields: lr, name, ...``."""
    name = key if isinstance(key, str) else show(key)
    article = "an" if what[:1] in ("a", "e", "i", "o", "u") else "a"
    return ScheduleConfigError(
        f"{prefix}{name} is not {article} {what} field; valid fields: {', '.join(valid)}",
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
        f"{prefix}decay_steps or pass decay_steps=... to instantiate() / build_schedule()",
        field="decay_steps",
    )
