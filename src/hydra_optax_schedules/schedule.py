"""A scheduler config becomes a callable, validated learning-rate schedule.

JAX is imported only when a schedule is called on a JAX array (or a traced value), so
importing this module, and building a schedule, stays cheap.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import warnings
from collections.abc import Mapping
from types import FrameType
from typing import Any

from hydra_optax_schedules.config.coerce import scheduler_fields, values_of
from hydra_optax_schedules.config.normalize import NormalizedConfig, normalize
from hydra_optax_schedules.config.schema import SchedulerConfig
from hydra_optax_schedules.errors import IgnoredFieldWarning
from hydra_optax_schedules.evaluate import value_at, values_over
from hydra_optax_schedules.piece import Piece
from hydra_optax_schedules.plan import ineffective_fields, plan_pieces

__all__ = ["Schedule", "build_lr_scheduler", "build_schedule"]

ConfigLike = SchedulerConfig | Mapping[str, Any]
#: The largest int that converts to a float: past it, a host step is +-inf.
_LARGEST_FLOAT = int(sys.float_info.max)


class Schedule:
    """An optax-compatible learning-rate schedule: ``schedule(step) -> lr``.

    A small picklable object (not a closure), so it can travel to worker processes; its
    ``repr`` shows the config it was built from, and two schedules are equal when their
    configs are.

    ``step`` may be:

    - a Python ``int`` / ``float`` or a NumPy scalar: returns a Python ``float``, computed
      on the host without JAX (cheap enough to call every step for logging);
    - a NumPy array: returns a NumPy array of the same shape, ``float64`` for integer steps
      (float steps keep their float dtype);
    - a JAX array or a traced value (inside ``jit``, ``vmap``, or an optax optimizer): returns
      a JAX array of the default float dtype, the same shape as ``step``.

    Negative steps count as step 0; past ``decay_steps`` the final value holds; a NaN step
    gives NaN (as optax's schedules do). A boolean step is a ``TypeError``.

    The schedule is immutable: ``config`` is a frozen ``NormalizedConfig`` (a
    ``SchedulerConfig`` whose values are checked: "not given" is ``None``, family defaults
    filled in), and ``pieces`` its plan, a tuple of frozen pieces (``phases`` is the same
    tuple, by its name in 0.2.0).
    """

    __slots__ = ("__weakref__", "_starts", "config", "pieces")
    _starts: tuple[int, ...]
    config: NormalizedConfig
    pieces: tuple[Piece, ...]

    def __init__(self, config: SchedulerConfig, *, field_prefix: str = "") -> None:
        """Validate ``config`` and plan its pieces.

        Warns:
            IgnoredFieldWarning: Once, naming every field set to a value that has no effect
                on this schedule (e.g. ``end_lr`` on ``wsd``).

        Raises:
            ScheduleConfigError: The config does not describe a schedule; the message names
                the field, prefixed by ``field_prefix`` (e.g. ``"scheduler."``).
        """
        self._plan(config, field_prefix)
        ignored = ineffective_fields(self.config, self.pieces)
        if ignored:
            settings = ", ".join(
                f"{field_prefix}{field}={value!r}" for field, (value, _) in ignored.items()
            )
            needs = "; ".join(f"{field} needs {needs}" for field, (_, needs) in ignored.items())
            verb = "has" if len(ignored) == 1 else "have"
            warnings.warn(
                f"{settings} {verb} no effect on this {self.config.name} schedule ({needs}); "
                "it is built as if unset",
                IgnoredFieldWarning,
                stacklevel=_stacklevel_outside_package(),
            )

    def _plan(self, config: SchedulerConfig, field_prefix: str = "") -> None:
        object.__setattr__(self, "config", normalize(config, field_prefix))
        object.__setattr__(self, "pieces", plan_pieces(self.config, field_prefix))
        object.__setattr__(self, "_starts", tuple(piece.start for piece in self.pieces))

    @property
    def phases(self) -> tuple[Piece, ...]:
        """The pieces, by their name in 0.2.0."""
        return self.pieces

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(
            f"cannot set {name!r}: a Schedule is immutable; build a new one, e.g. from "
            "dataclasses.replace(schedule.config, lr=...)"
        )

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete {name!r}: a Schedule is immutable")

    def __call__(self, step: Any) -> Any:
        kind = type(step)
        if kind is int or kind is float:
            return self._at(step)
        numpy = sys.modules.get("numpy")  # a NumPy value implies NumPy is imported
        if numpy is not None and isinstance(step, (numpy.integer, numpy.floating)):
            return self._at(step.item())
        if numpy is not None and isinstance(step, numpy.ndarray):
            return values_over(numpy, self.pieces, step)
        if kind is bool:
            raise TypeError("step=True/False is invalid: a step is a number, not a boolean")
        import jax.numpy as jnp

        return values_over(jnp, self.pieces, jnp.asarray(step))

    def _at(self, step: float) -> float:
        """The value at one host step, with Python floats and ``math`` functions."""
        if step != step:  # NaN
            return math.nan
        if type(step) is int and abs(step) > _LARGEST_FLOAT:  # float(step) would overflow
            step = math.inf if step > 0 else 0
        return value_at(self.pieces, self._starts, step)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config.as_config()!r})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.config == self.config

    def __hash__(self) -> int:
        return hash(_frozen(dataclasses.astuple(self.config)))

    def __reduce__(self) -> tuple[Any, ...]:
        # A plain SchedulerConfig, as 0.2.0 pickled it: pickles do not name the normalized type.
        return (_restore, (type(self), self.config.as_config()))


def _restore(cls: type[Schedule], config: SchedulerConfig) -> Schedule:
    """Unpickle a schedule: its config was checked, and warned about, when it was built."""
    schedule = cls.__new__(cls)
    schedule._plan(config)
    return schedule


def _frozen(value: Any) -> Any:
    """``value`` with its dicts (``shape_params``) as sorted tuples of items: hashable."""
    if isinstance(value, dict):
        return tuple(sorted((key, _frozen(item)) for key, item in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(item) for item in value)
    return value


def _stacklevel_outside_package() -> int:
    """The ``stacklevel`` that points a warning at the first caller outside this package."""
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith(__package__):
        frame, level = frame.f_back, level + 1
    return level


def build_schedule(**fields: Any) -> Schedule:
    """Build a schedule from ``SchedulerConfig``'s fields given as keywords.

    This is the ``_target_`` of every option of Hydra's ``scheduler`` group, so
    ``instantiate(cfg.scheduler, decay_steps=n)`` fills in the run length at runtime.

    Raises:
        ScheduleConfigError: A field is unknown, missing or invalid.
    """
    return _build(fields, prefix="")


def build_lr_scheduler(scheduler_config: ConfigLike) -> Schedule:
    """Build learning rate schedule from config (xlstm-jax's entry point).

    Supports constant, linear, cosine decay, exponential decay, polynomial, inverse-sqrt,
    warmup-stable-decay, step decay (``multistep``) and any piecewise schedule (``stages``),
    all with warmup and cooldown, the decaying ones with restarts (``cycles``), every one with
    a cooldown branched off any step (``cooldown_start``); docs/semantics.md gives the value
    at every step.

    Args:
        scheduler_config: A ``SchedulerConfig``, an option of the ``scheduler`` group (e.g.
            ``OmegaConf.to_object(cfg.scheduler)``), a Hydra/OmegaConf ``DictConfig`` node, or
            a mapping with ``SchedulerConfig``'s keys (Hydra's ``_target_`` / ``_partial_`` are
            ignored).

    Returns:
        The schedule: an optax-compatible callable ``step -> lr``.

    Raises:
        ScheduleConfigError: The config is invalid; a ``DictConfig``'s fields are named by
            their full key, e.g. ``scheduler.decay_steps``.

    Example:
        >>> from hydra_optax_schedules import SchedulerConfig, build_lr_scheduler
        >>> schedule = build_lr_scheduler(
        ...     SchedulerConfig(lr=1.0, name="linear", decay_steps=10, end_lr=0.0)
        ... )
        >>> schedule(5)
        0.5
    """
    values, prefix = values_of(scheduler_config, what="build_lr_scheduler")
    return _build(values, prefix)


def _build(values: dict[str, Any], prefix: str) -> Schedule:
    """Check that ``values`` has exactly scheduler fields (Hydra's keys aside), then build."""
    return Schedule(SchedulerConfig(**scheduler_fields(values, prefix)), field_prefix=prefix)
