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
from fractions import Fraction
from types import FrameType
from typing import Any

from hydra_optax_schedules.config.coerce import scheduler_fields, values_of
from hydra_optax_schedules.config.normalize import NormalizedConfig, normalize
from hydra_optax_schedules.config.schema import SchedulerConfig, UnitsConfig
from hydra_optax_schedules.config.units import BaseCounts, normalize_units
from hydra_optax_schedules.errors import IgnoredFieldWarning, ScheduleConfigError
from hydra_optax_schedules.evaluate import value_at, values_over
from hydra_optax_schedules.messages import (
    RESUME,
    from_resume_step,
    from_run_length,
    run_length_conflict,
)
from hydra_optax_schedules.piece import Piece
from hydra_optax_schedules.plan import Plan, ineffective_fields, plan
from hydra_optax_schedules.plan.units import (
    StepUnits,
    counted_config,
    in_unit_names,
    resume_in_unit,
    step_units,
)
from hydra_optax_schedules.values import as_number

__all__ = ["Schedule", "batch_size_at", "build_lr_scheduler", "build_schedule"]

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

    __slots__ = ("__weakref__", "_starts", "_units", "config", "pieces")
    _starts: tuple[int, ...]
    _units: StepUnits | None
    config: NormalizedConfig
    pieces: tuple[Piece, ...]

    def __init__(
        self,
        config: SchedulerConfig,
        *,
        field_prefix: str = "",
        run_steps: Any = None,
        resume_step: Any = None,
    ) -> None:
        """Validate ``config`` and plan its pieces.

        ``run_steps`` is the run length the caller counts (``build_schedule``): the config's
        ``decay_steps`` if that is unset, else it must equal it. ``resume_step`` is the step a
        resumed run continues from: ``cooldown_start`` if the config sets it to ``"resume"``.

        Warns:
            IgnoredFieldWarning: Once, naming every field set to a value that has no effect
                on this schedule (e.g. ``end_lr`` on ``wsd``).

        Raises:
            ScheduleConfigError: The config does not describe a schedule; the message names
                the field, prefixed by ``field_prefix`` (e.g. ``"scheduler."``).
        """
        planned, axis = self._plan(config, field_prefix, run_steps, resume_step)
        ignored = ineffective_fields(axis, planned.pieces, planned.at_branch)
        units = self.config.units
        if units is not None and units.lr_scaling != "none" and not self._units_scaled():
            ignored["units.lr_scaling"] = (units.lr_scaling, "a batch size that changes (a ramp)")
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

    def _plan(
        self,
        config: SchedulerConfig,
        field_prefix: str = "",
        run_steps: Any = None,
        resume_step: Any = None,
    ) -> tuple[Plan, NormalizedConfig]:
        """Normalize ``config`` and plan it: ``(plan, the config planned)``, the latter with
        its lengths counted in the unit's base count if ``units`` says so."""
        base = None if config.units is None else normalize_units(field_prefix, config.units)
        if base is not None and base.config == UnitsConfig():  # the node's defaults: steps
            base = None
        units = None if base is None else step_units(base)
        counted = base is not None and units is not None and base.unit != "steps"
        if counted and config.cooldown_start == RESUME:  # the resume step's count, in the unit
            assert base is not None and units is not None
            config = resume_in_unit(config, base, units, field_prefix, resume_step)
            base = normalize_units(field_prefix, config.units)  # its lengths: the branch too
        try:
            normalized = normalize(
                config, field_prefix, None if counted else run_steps, resume_step
            )
        except ScheduleConfigError as error:
            raise _resumed(error, config, field_prefix, resume_step) from None
        object.__setattr__(self, "config", normalized)
        object.__setattr__(self, "_units", units)
        axis = self.config
        try:
            if counted:  # the plan of the count of the unit (docs/units.md)
                assert base is not None and units is not None
                axis = counted_config(self.config, base, units, field_prefix, run_steps)
                try:
                    planned = plan(axis, field_prefix)
                except ScheduleConfigError as error:
                    raise in_unit_names(error, field_prefix) from None
                if run_steps is not None and base.config.decay is None:  # kept, for pickles
                    node = dataclasses.replace(base.config, decay=_in_unit(base, axis))
                    object.__setattr__(self, "config", dataclasses.replace(self.config, units=node))
            else:
                planned = plan(self.config, field_prefix)
        except ScheduleConfigError as error:
            # A message that shows decay_steps shows a value the config did not set: say so.
            filled = run_steps is not None and as_number(config.decay_steps) in (None, 0)
            length = self.config.decay_steps
            if filled and length is not None and f"{field_prefix}decay_steps=" in str(error):
                error = from_run_length(error, field_prefix, length)
            raise _resumed(error, config, field_prefix, resume_step) from None
        object.__setattr__(self, "pieces", planned.pieces)
        object.__setattr__(self, "_starts", tuple(piece.start for piece in self.pieces))
        return planned, axis

    def _units_scaled(self) -> bool:
        return self._units is not None and self._units.scaled

    @property
    def batch_steps(self) -> tuple[int, ...]:
        """The steps where the batch size changes (``units.ramp``'s points, reached exactly):
        the curve may jump there (``lr_scaling``) or bend (the count's rate changes)."""
        return () if self._units is None else self._units.starts[1:]

    def count_at(self, step: int) -> int:
        """The count of the run's unit consumed before ``step`` (samples, or tokens; the step
        itself for a run counted in steps): where the plan (``pieces``) is evaluated."""
        step = _host_step(step)
        return max(step, 0) if self._units is None else self._units.count_at(step)

    def step_at(self, count: int) -> int:
        """The first step whose count (:meth:`count_at`) reaches ``count``: the step where a
        piece that starts at ``count`` starts (``pieces`` are counted in the unit)."""
        count = _host_step(count)
        return max(count, 0) if self._units is None else self._units.step_at(count)

    def batch_size_at(self, step: int) -> int:
        """The batch size at ``step``: what a data loader reads (``units.batch_size`` or
        ``units.ramp``, docs/units.md). A config without one is a ``ValueError``."""
        if self._units is None:
            raise ValueError("the config gives no batch size (units.batch_size or units.ramp)")
        return self._units.batch_at(_host_step(step))

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
            return self._over(numpy, step)
        if kind is bool:
            raise TypeError("step=True/False is invalid: a step is a number, not a boolean")
        import jax.numpy as jnp

        return self._over(jnp, jnp.asarray(step))

    def _over(self, xp: Any, steps: Any) -> Any:
        """The values over an array of steps: the plan at the count of the unit, scaled."""
        units = self._units
        if units is None or (units.identity and not units.scaled):
            return values_over(xp, self.pieces, steps)
        if steps.dtype == bool:
            raise TypeError(f"steps of dtype {steps.dtype} are invalid: a step is a number")
        counts, factor = units.over(xp, steps)
        values = values_over(xp, self.pieces, counts)
        return values if factor is None else values * factor

    def _at(self, step: float) -> float:
        """The value at one host step, with Python floats and ``math`` functions."""
        if step != step:  # NaN
            return math.nan
        if type(step) is int and abs(step) > _LARGEST_FLOAT:  # float(step) would overflow
            step = math.inf if step > 0 else 0
        units = self._units
        if units is None:
            return value_at(self.pieces, self._starts, step)
        if math.isinf(step):  # the count's end (or start), at the last (or first) batch
            index = len(units.starts) - 1 if step > 0 else 0
            return value_at(self.pieces, self._starts, max(step, 0)) * units.scales[index]
        whole = max(math.floor(step), 0)
        count = units.count_at(whole) + (step - whole) * units.rates[units.segment(whole)]
        return value_at(self.pieces, self._starts, count) * units.scales[units.segment(whole)]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config.as_config()!r})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.config == self.config

    def __hash__(self) -> int:
        return hash(_frozen(dataclasses.astuple(self.config)))

    def __reduce__(self) -> tuple[Any, ...]:
        # A plain SchedulerConfig, as 0.2.0 pickled it: pickles do not name the normalized type.
        return (_restore, (type(self), self.config.as_config()))


def _resumed(
    error: ScheduleConfigError, config: SchedulerConfig, prefix: str, resume_step: Any
) -> ScheduleConfigError:
    """``error``; if it shows a ``cooldown_start`` the config gave as ``"resume"``, saying so."""
    if config.cooldown_start == RESUME and f"{prefix}cooldown_start={resume_step}" in str(error):
        return from_resume_step(error, prefix, resume_step)
    return error


def _in_unit(base: BaseCounts, axis: NormalizedConfig) -> int | float:
    """The run length of ``axis`` (a base count) in the unit: an epoch is samples_per_epoch."""
    length = Fraction(axis.decay_steps or 0, base.config.samples_per_epoch or 1)
    return int(length) if length.denominator == 1 else float(length)


def _host_step(step: Any) -> int:
    """A step as a Python int (a NumPy or JAX integer too)."""
    number = as_number(step)
    if not isinstance(number, int):
        raise TypeError(f"step={step!r} is invalid: expected a whole number of steps")
    return number


def batch_size_at(scheduler_config: ConfigLike, step: int) -> int:
    """The batch size at ``step`` that the scheduler config's ``units`` gives
    (``units.batch_size``, or ``units.ramp`` with its points reached exactly as the schedule
    reaches them): what a data loader reads from the same config (docs/units.md).

    Raises:
        ScheduleConfigError: The ``units`` node is invalid.
        ValueError: The config gives no batch size.
    """
    values, prefix = values_of(scheduler_config, what="batch_size_at")
    node = values.get("units")
    if node is None:
        raise ValueError("the config gives no batch size (units.batch_size or units.ramp)")
    return step_units(normalize_units(prefix, node)).batch_at(_host_step(step))


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


#: The packages whose frames a warning skips: this one, and Hydra's and OmegaConf's, which call
#: the builder for ``hydra.utils.instantiate``; the warning points at the user's line.
_CALLERS_SKIPPED = (f"{__package__}.", "hydra.", "omegaconf.")


def _stacklevel_outside_package() -> int:
    """The ``stacklevel`` that points a warning at the first caller outside this package (and
    outside Hydra and OmegaConf, when the schedule is built by ``instantiate``)."""
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None and _skipped(frame.f_globals.get("__name__", "")):
        frame, level = frame.f_back, level + 1
    return level


def _skipped(module: str) -> bool:
    return module == __package__ or module.startswith(_CALLERS_SKIPPED)


def hydra_key(caller: FrameType | None) -> str:
    """``"scheduler."`` when ``caller`` is ``hydra.utils.instantiate`` building the node at
    ``scheduler``, so that its fields are named as the command line names them; else ``""``.

    Hydra 1.3 calls a ``_target_`` from ``_call_target``, which holds the node's full key (it
    adds it to the error it raises as ``full_key: scheduler``). Any other caller, or a Hydra
    that calls it otherwise, gets ``""``: the bare field names, as before.
    """
    if caller is None or not caller.f_globals.get("__name__", "").startswith("hydra."):
        return ""
    key = caller.f_locals.get("full_key") if caller.f_code.co_name == "_call_target" else None
    return f"{key}." if isinstance(key, str) and key else ""


def instantiate_keyword(caller: FrameType | None, field: str) -> tuple[Any, Any] | None:
    """``(the config's value, the keyword's)`` when ``caller`` is ``hydra.utils.instantiate``
    building a node that its caller gave ``field=...`` as a keyword, else ``None``.

    Hydra merges ``instantiate(cfg.scheduler, decay_steps=n)``'s keywords into a copy of the
    node before calling the ``_target_``, which sees only the merged value; Hydra 1.3's
    ``_instantiate_impl`` still holds the copy before the merge (``config_copy``) and the
    keywords (``kwargs``). Any other caller, or a Hydra that holds them otherwise: ``None``.
    """
    if caller is None or caller.f_code.co_name != "_call_target":
        return None
    key = caller.f_locals.get("full_key")
    frame: FrameType | None = caller
    for _ in range(64):  # _call_target, instantiate_node (once per level), _instantiate_impl
        if frame is None or frame.f_code.co_name == "_instantiate_impl":
            break
        frame = frame.f_back
    hydra = frame is not None and frame.f_globals.get("__name__", "").startswith("hydra.")
    if frame is None or not hydra or not isinstance(key, str):
        return None
    try:
        import omegaconf

        top: Any = frame.f_locals.get("config_copy")
        keywords: Any = frame.f_locals.get("kwargs")
        root = top._get_full_key("") if isinstance(top, omegaconf.DictConfig) else None
        if root is None or not isinstance(keywords, Mapping):
            return None
        if root and key != root and not key.startswith(f"{root}."):
            return None
        for part in key[len(root) :].lstrip(".").split(".") if key != root else ():
            keywords, top = keywords.get(part), top.get(part)
            if not isinstance(keywords, Mapping) or not isinstance(top, omegaconf.DictConfig):
                return None
        if field not in keywords:
            return None
        return top.get(field), keywords[field]
    except Exception:  # never in the way of building: the keyword is then the field
        return None


def build_schedule(*, run_steps: Any = None, resume_step: Any = None, **fields: Any) -> Schedule:
    """Build a schedule from ``SchedulerConfig``'s fields given as keywords.

    This is the ``_target_`` of every option of Hydra's ``scheduler`` group, so a trainer
    gives the run length it counts with ``instantiate(cfg.scheduler, run_steps=n)``, and the
    step it resumed at with ``resume_step=r``.

    Args:
        run_steps: The run length, known at runtime (a Python, NumPy or JAX integer >= 1).
            It is ``decay_steps`` when the config leaves that unset; a config that sets
            ``decay_steps`` to another value is an error naming both. 0.2.0's
            ``instantiate(cfg.scheduler, decay_steps=n)`` is the same run length: a config
            that sets another ``decay_steps`` is an error naming both.
        resume_step: The step a resumed run continues from, known at runtime (an integer
            >= 0: the restored optimizer's count, or ``branch_step`` of the saved config). It
            is ``cooldown_start`` when the config sets that to ``"resume"`` (a cooldown
            branched off the checkpoint), and has no effect otherwise.
        **fields: ``SchedulerConfig``'s fields.

    Raises:
        ScheduleConfigError: A field is unknown, missing or invalid, or ``run_steps``
            disagrees with the config's ``decay_steps``. Called by ``hydra.utils.instantiate``,
            the fields are named by their full key (``scheduler.lr``).
    """
    caller = sys._getframe(1)
    prefix = hydra_key(caller)
    keyword = instantiate_keyword(caller, "decay_steps")
    if keyword is not None:
        in_config, given = keyword
        if in_config is not None and as_number(in_config) != as_number(given):
            passed = "passed to hydra.utils.instantiate"
            raise run_length_conflict(prefix, in_config, given, "decay_steps", passed)
    return _build(fields, prefix, run_steps, resume_step)


def build_lr_scheduler(
    scheduler_config: ConfigLike, *, run_steps: Any = None, resume_step: Any = None
) -> Schedule:
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
        run_steps: The run length, known at runtime: ``decay_steps`` when the config leaves
            it unset; a config that sets another ``decay_steps`` is an error naming both.
        resume_step: The step a resumed run continues from, known at runtime: the
            ``cooldown_start`` of a config that sets it to ``"resume"`` (no effect otherwise).

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
        >>> build_lr_scheduler(SchedulerConfig(lr=1.0, name="linear"), run_steps=10)(5)
        0.5
    """
    values, prefix = values_of(scheduler_config, what="build_lr_scheduler")
    return _build(values, prefix, run_steps, resume_step)


def _build(
    values: dict[str, Any], prefix: str, run_steps: Any = None, resume_step: Any = None
) -> Schedule:
    """Check that ``values`` has exactly scheduler fields (Hydra's keys aside), then build."""
    config = SchedulerConfig(**scheduler_fields(values, prefix))
    return Schedule(config, field_prefix=prefix, run_steps=run_steps, resume_step=resume_step)
