"""The library's exception and warning types."""

from __future__ import annotations

from typing import Any

__all__ = ["IgnoredFieldWarning", "ScheduleConfigError"]


class ScheduleConfigError(ValueError):
    """A scheduler config that cannot describe a learning-rate schedule.

    Raised when a schedule is built (by ``build_lr_scheduler``, ``build_schedule`` or
    ``hydra.utils.instantiate``), before any step is evaluated. The message names the field
    (as ``scheduler.<field>`` when the config came from Hydra), the value it had and what
    would be valid. ``field`` holds the field's name for programmatic use.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    def __reduce__(self) -> tuple[Any, ...]:  # keep ``field`` across a process boundary
        return (_rebuild_error, (self.args[0], self.field))


def _rebuild_error(message: str, field: str | None) -> ScheduleConfigError:
    return ScheduleConfigError(message, field=field)


class IgnoredFieldWarning(UserWarning):
    """A scheduler config sets a field to a value that has no effect on its schedule.

    For example ``end_lr`` on a ``wsd`` schedule (which holds ``lr`` until its cooldown),
    ``power`` on a cosine one, or ``cooldown_lr`` without a cooldown. The schedule is built as
    if the field were left at its default; one warning per build names every such field. It
    is a warning rather than an error so that a sweep across families can share a field
    (``-m scheduler=constant,cosine scheduler.end_lr_factor=0.1``). To make it an error::

        warnings.simplefilter("error", IgnoredFieldWarning)
    """
