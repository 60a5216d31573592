"""The shape registry: every formula of a schedule, written once over an array namespace.

A *piece* of a schedule (a warmup, a cycle, a stage, a cooldown) runs from a value ``a`` to a
value ``b`` along a *shape*. A shape is a function ``formula(xp, x, a, b, **params)`` of the
progress ``x = t / length`` through the piece (``0 <= x <= 1``, ``t`` the local step), or, for
a shape registered ``over="steps"``, ``formula(xp, t, a, b, **params)`` of the local step
itself (such a piece may run forever, like ``inverse_sqrt``). ``xp`` is the array namespace:
:data:`HOST` (``math`` functions on Python floats: logging, plots), ``numpy``, or ``jax.numpy``
inside ``jit``. The same formula computes a step's value on all three, so they cannot drift.

The built-in shapes are registered here with :func:`register_shape`, the same call a user
makes to add one (``docs/shapes.md``):

==============  ============================================================  ===========
shape           value at progress ``x`` in ``[0, 1]`` (local step ``t``)      parameters
==============  ============================================================  ===========
constant        ``a``
linear          ``a + (b - a) * x``
cosine          ``a + (b - a) * (1 - cos(pi * x)) / 2``
sqrt            ``a + (b - a) * sqrt(x)``
polynomial      ``b + (a - b) * (1 - x) ** power``                            ``power=2``
exponential     ``a * (b / a) ** x``  (continuous, not staircase)
inverse_sqrt    ``a * sqrt(timescale / (timescale + t))`` (over steps)        ``timescale``
==============  ============================================================  ===========

Each built-in shape also gives its *steepest slope* per step over a piece (``Shape.steepest``,
registered beside its formula): the plan refuses a piece whose slope float32 does not hold
(``plan/assemble.py``). A user's shape has none, and is checked finite at its ends instead.

A registered shape's *roles* say where a config may use it: as a ``family`` (the main phase
of ``scheduler=<name>``), as a ``stage`` shape, as a ``warmup`` or a ``cooldown`` shape.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType, SimpleNamespace
from typing import Any

__all__ = [
    "BUILTIN_SHAPES",
    "HOST",
    "ROLES",
    "SHAPES",
    "Shape",
    "position",
    "register_shape",
    "shapes_for",
    "zero_at_zero",
]

#: The array namespace of host evaluation: ``math`` functions of Python floats, with the
#: names NumPy and ``jax.numpy`` give them. A registered formula may use these.
HOST = SimpleNamespace(
    pi=math.pi,
    e=math.e,
    abs=abs,
    cos=math.cos,
    sin=math.sin,
    tan=math.tan,
    tanh=math.tanh,
    sqrt=math.sqrt,
    exp=math.exp,
    expm1=math.expm1,
    log=math.log,
    log1p=math.log1p,
    power=math.pow,
    minimum=min,
    maximum=max,
    clip=lambda value, low, high: min(max(value, low), high),
    where=lambda condition, if_true, if_false: if_true if condition else if_false,
)

#: Where a shape may be used: the main phase of a family of its name, a stage, a warmup
#: (and a cycle's rewarmup), a cooldown.
ROLES = ("family", "stage", "warmup", "cooldown")
#: What the formula's first argument after ``xp`` is: the progress ``x`` in ``[0, 1]``, or the
#: local step ``t``.
OVER = ("progress", "steps")
#: Names a shape cannot take: the families that are not one shape, and their aliases.
RESERVED_NAMES = frozenset({"wsd", "multistep", "stages", "cosine_decay", "exponential_decay"})
_ARGUMENTS = ("xp", "x", "t", "a", "b")


@dataclass(frozen=True)
class Shape:
    """A registered shape: see :func:`register_shape`.

    Attributes:
        name: The name configs use (``"cosine"``).
        formula: ``formula(xp, x, a, b, **params)`` (``over="progress"``) or
            ``formula(xp, t, a, b, **params)`` (``over="steps"``).
        params: The formula's named parameters and their defaults, in order.
        over: ``"progress"`` or ``"steps"``.
        roles: Where configs may use it (a subset of :data:`ROLES`).
        holds: It ends where it starts, whatever ``b`` is (``constant``): a stage of such a
            shape has no ``end`` of its own.
        total: It is finite for any values ``a, b >= 0`` (``exponential`` is not: it needs
            ``a, b > 0``). Evaluated over many pieces at once, a total shape reads the other
            pieces' values as they are; another gets stand-ins, so its discarded values (and
            their derivatives) stay finite.
        steepest: The steepest slope per step of a piece, ``steepest(c)`` from its
            coefficients (``a``, ``b``, ``length``, the params), for the plan's float32 check;
            ``None`` (a user's shape, and ``sqrt``, whose slope is unbounded at its start where
            :func:`zero_at_zero` keeps the derivative finite): not checked.
    """

    name: str
    formula: Callable[..., Any] = field(compare=False)
    params: Mapping[str, float]
    over: str
    roles: frozenset[str]
    holds: bool = False
    total: bool = False
    steepest: Callable[[Mapping[str, float]], float] | None = field(default=None, compare=False)

    def value(self, xp: Any, t: Any, c: Mapping[str, Any]) -> Any:
        """The value at local step ``t`` from a piece's coefficients ``c`` (``a``, ``b``,
        ``length`` and the params: numbers, or columns of many pieces' numbers)."""
        return self.at(xp, position(xp, self.over, t, c["length"]), c)

    def at(self, xp: Any, position: Any, c: Mapping[str, Any]) -> Any:
        """The formula at ``position`` (the progress ``x``, or the local step over steps)."""
        return self.formula(xp, position, c["a"], c["b"], **{name: c[name] for name in self.params})


def position(xp: Any, over: str, t: Any, length: Any) -> Any:
    """Where a formula reads local step ``t`` of a piece of ``length`` steps: the progress
    ``x = t / length`` in ``[0, 1]``, or ``t`` itself for a shape over steps."""
    if over == "steps":
        return t
    # Clamped: a step before the piece is its start, one after it its end, and t / length can
    # exceed 1 by an ulp (XLA divides by a constant as a multiplication by its reciprocal);
    # every formula stays in its domain, and its end value exact.
    return xp.clip(t / length, 0.0, 1.0)


#: Every registered shape by name, built-in and the user's, in order of registration.
SHAPES: dict[str, Shape] = {}
#: The shapes this package registers (below): they cannot be replaced.
BUILTIN_SHAPES: set[str] = set()
_listeners: list[Callable[[Shape], None]] = []


def register_shape(
    name: str,
    formula: Callable[..., Any],
    *,
    params: Mapping[str, float] | None = None,
    over: str = "progress",
    roles: Iterable[str] = ROLES,
) -> Shape:
    """Register a shape, so that configs can use it by ``name``.

    Once registered (in every process that builds schedules, e.g. at the top of the module
    that defines your Hydra app), it works as a family (``scheduler=<name>``, listed by
    ``--help``; its parameters are ``scheduler.shape_params.<param>``), as a stage's
    ``shape`` (parameters in the stage's ``shape_params``), and as a ``warmup_shape`` or
    ``cooldown_shape`` (with its defaults). As a family it decays from ``lr`` to the end
    value like ``cosine``, with warmup, cooldown and restarts; over steps it needs no run
    length, like ``inverse_sqrt``.

    The formula is checked here: it must accept ``(xp, x, a, b, **params)`` and run on the
    host namespace (:data:`HOST`), and, over progress, start at ``a`` (``x = 0``) and end at
    ``b`` (``x = 1``); over steps, start at ``a``.

    Args:
        name: The name (an identifier; not a built-in shape's or family's name). Registering
            a name again replaces your earlier shape (a module imported twice).
        formula: The value at progress ``x`` in ``[0, 1]`` (or local step ``t``), from
            ``a`` to ``b``, over the array namespace ``xp`` (``HOST``, ``numpy`` or
            ``jax.numpy``): use ``xp.cos``, ``xp.where``, ... and arithmetic.
        params: The formula's keyword parameters and their defaults (finite numbers).
        over: ``"progress"`` (default) or ``"steps"``.
        roles: Where configs may use it: any of ``"family"``, ``"stage"``, ``"warmup"``,
            ``"cooldown"`` (all by default).

    Returns:
        The registered :class:`Shape`.

    Raises:
        ValueError: The name, parameters or formula are not usable.

    Example:
        >>> from hydra_optax_schedules import register_shape
        >>> def cosine_pow(xp, x, a, b, exponent):
        ...     return b + (a - b) * ((1 + xp.cos(xp.pi * x)) / 2) ** exponent
        >>> shape = register_shape("cosine_pow", cosine_pow, params={"exponent": 1.0})
    """
    return _register(name, formula, params=params, over=over, roles=roles)


def _register(
    name: str,
    formula: Callable[..., Any],
    *,
    params: Mapping[str, float] | None = None,
    over: str = "progress",
    roles: Iterable[str] = ROLES,
    steepest: Callable[[Mapping[str, float]], float] | None = None,
) -> Shape:
    """:func:`register_shape`, and for a built-in shape its ``steepest`` slope."""
    if not (isinstance(name, str) and name.isidentifier()):
        raise ValueError(f"register_shape: name={name!r} is invalid: expected an identifier")
    if name in RESERVED_NAMES or name in BUILTIN_SHAPES:
        raise ValueError(f"register_shape: {name!r} is a built-in name; choose another")
    roles = frozenset(roles)
    if over not in OVER:
        raise ValueError(f"register_shape: over={over!r} is invalid: expected one of {OVER}")
    if not roles or not roles <= set(ROLES):
        raise ValueError(f"register_shape: roles={sorted(roles)} is invalid: a subset of {ROLES}")
    params = dict(params or {})
    for param, default in params.items():
        if not (isinstance(param, str) and param.isidentifier()) or param in _ARGUMENTS:
            raise ValueError(
                f"register_shape: parameter {param!r} of {name!r} is invalid: expected an "
                f"identifier other than {', '.join(_ARGUMENTS)}"
            )
        if isinstance(default, bool) or not isinstance(default, (int, float)):
            raise ValueError(f"register_shape: {name}.{param}={default!r} is not a number")
        if not math.isfinite(default):
            raise ValueError(f"register_shape: {name}.{param}={default!r} is not finite")
    shape = Shape(name, formula, MappingProxyType(params), over, roles, steepest=steepest)
    shape = dataclasses.replace(shape, holds=_check_formula(shape), total=_is_total(shape))
    SHAPES[name] = shape
    for listener in _listeners:
        listener(shape)
    return shape


def shapes_for(role: str) -> tuple[str, ...]:
    """The names of the shapes registered for ``role``, in order of registration."""
    return tuple(name for name, shape in SHAPES.items() if role in shape.roles)


def on_register(listener: Callable[[Shape], None]) -> None:
    """Call ``listener(shape)`` for every shape registered from now on (the family table)."""
    _listeners.append(listener)


def _check_formula(shape: Shape) -> bool:
    """Call the formula on the host at its ends: it must accept the parameters and go from
    ``a`` to ``b``, so that a piece starts and ends where the schedule says. Returns whether
    the shape *holds*: ends at ``a`` whatever ``b`` is (``constant``), a stage shape only."""
    defaults = {name: float(value) for name, value in shape.params.items()}
    try:
        inspect.signature(shape.formula).bind(HOST, 0.0, 1.0, 0.5, **defaults)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"register_shape: the formula of {shape.name!r} must accept (xp, "
            f"{'x' if shape.over == 'progress' else 't'}, a, b"
            + "".join(f", {name}" for name in defaults)
            + f"): {error}"
        ) from None
    ends: dict[tuple[float, float], tuple[float, float]] = {}
    for a, b in ((1.0, 0.25), (0.25, 1.0)):
        c = {"a": a, "b": b, "length": 1.0, **defaults}
        try:
            ends[a, b] = (float(shape.value(HOST, 0.0, c)), float(shape.value(HOST, 1.0, c)))
        except Exception as error:  # the user's formula: any failure is reported
            raise ValueError(
                f"register_shape: the formula of {shape.name!r} failed on the host namespace "
                f"(a={a}, b={b}): {type(error).__name__}: {error}"
            ) from None

    def close(got: float, expected: float) -> bool:
        return math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-12)

    for (a, b), (first, _) in ends.items():
        if not close(first, a):
            raise ValueError(
                f"register_shape: the formula of {shape.name!r} must start at a (x = 0): with "
                f"a={a}, b={b} it gives {first!r}"
            )
    if shape.over == "steps":
        return False
    if all(close(last, a) for (a, _), (_, last) in ends.items()):
        if shape.roles != {"stage"}:
            raise ValueError(
                f"register_shape: {shape.name!r} ends where it starts, whatever b is: such a "
                'shape holds its start, and can only be a stage shape (roles=["stage"])'
            )
        return True
    for (a, b), (_, last) in ends.items():
        if not close(last, b):
            raise ValueError(
                f"register_shape: the formula of {shape.name!r} must end at b (x = 1): with "
                f"a={a}, b={b} it gives {last!r}"
            )
    return False


def _is_total(shape: Shape) -> bool:
    """Whether the formula is finite on the host for values ``a, b`` in ``{0, 0.5, 1, 2}``
    along the whole piece, with its default parameters."""
    defaults = {name: float(value) for name, value in shape.params.items()}
    ends = (0.0, 0.5, 1.0, 2.0)
    positions = (0.0, 0.5, 1.0) if shape.over == "progress" else (0.0, 1.0, 1e6)
    for a in ends:
        for b in ends:
            c = {"a": a, "b": b, **defaults}
            try:
                if not all(math.isfinite(float(shape.at(HOST, p, c))) for p in positions):
                    return False
            except (ArithmeticError, ValueError):  # log(0), 0 ** -1
                return False
    return True


def zero_at_zero(xp: Any, function: Callable[[Any], Any], base: Any) -> Any:
    """``function(base)`` for ``base >= 0`` and a ``function`` that is 0 at 0 (``sqrt``,
    ``y ** p``), with a finite derivative everywhere.

    ``sqrt`` and ``y ** p`` for ``p < 1`` have an infinite slope at 0, and ``jax.grad``
    multiplies it by the zero slope of a clamped step (a piece not yet begun, or over):
    ``inf * 0 = nan``. Evaluating ``function`` away from 0 where 0 is selected keeps the
    derivative 0 there and the value exact.
    """
    positive = base > 0
    return xp.where(positive, function(xp.where(positive, base, 1.0)), 0.0)


def _constant(xp: Any, x: Any, a: Any, b: Any) -> Any:
    return a


def _linear(xp: Any, x: Any, a: Any, b: Any) -> Any:
    # A decay to 0 stays >= 0: a - a * x >= 0 for x <= 1, whatever the rounding.
    return a + (b - a) * x


def _cosine(xp: Any, x: Any, a: Any, b: Any) -> Any:
    return a + (b - a) / 2 * (1 - xp.cos(xp.pi * x))


def _sqrt(xp: Any, x: Any, a: Any, b: Any) -> Any:
    return a + (b - a) * zero_at_zero(xp, xp.sqrt, x)


def _polynomial(xp: Any, x: Any, a: Any, b: Any, power: Any) -> Any:
    return b + (a - b) * zero_at_zero(xp, lambda y: y**power, 1 - x)


def _exponential(xp: Any, x: Any, a: Any, b: Any) -> Any:
    return a * xp.exp(x * xp.log(b / a))


def _inverse_sqrt(xp: Any, t: Any, a: Any, b: Any, timescale: Any) -> Any:
    # 1 / sqrt(1 + t / timescale), not sqrt(timescale / (timescale + t)): at an infinite step
    # the latter is sqrt(0), whose slope is infinite (NaN under jax.grad); this one's is 0.
    return a / xp.sqrt(1 + t / timescale)


# The steepest slope per step of a piece of each built-in shape, from its coefficients ``c``
# (``a``, ``b``, ``length``, the params).


def _flat(c: Mapping[str, float]) -> float:
    """``0``: the value holds."""
    return 0.0


def _linear_slope(c: Mapping[str, float]) -> float:
    """``|a - b| / L``, everywhere."""
    return abs(c["a"] - c["b"]) / c["length"]


def _cosine_slope(c: Mapping[str, float]) -> float:
    """``|a - b| * pi / (2 L)``, halfway."""
    return abs(c["a"] - c["b"]) * math.pi / (2 * c["length"])


def _polynomial_slope(c: Mapping[str, float]) -> float:
    """``|a - b| * power / L``, at its start; for ``power < 1`` its slope grows without bound
    towards its end, where :func:`zero_at_zero` keeps the derivative finite."""
    return abs(c["a"] - c["b"]) * c["power"] / c["length"]


def _exponential_slope(c: Mapping[str, float]) -> float:
    """``max(a, b) * |log(b / a)| / L``, at the larger end."""
    return max(c["a"], c["b"]) * abs(math.log(c["b"] / c["a"])) / c["length"]


def _inverse_sqrt_slope(c: Mapping[str, float]) -> float:
    """``a / (2 timescale)``, at its start."""
    return c["a"] / (2 * c["timescale"])


# The built-in shapes, registered as a user registers one, with their steepest slopes; their
# roles are what each meant before shapes could be registered (a sqrt warmup would start with
# an infinite slope).
_register("constant", _constant, roles=["stage"], steepest=_flat)
_register("linear", _linear, steepest=_linear_slope)
_register("cosine", _cosine, steepest=_cosine_slope)
_register("sqrt", _sqrt, roles=["stage", "cooldown"])
_register("exponential", _exponential, roles=["family", "stage"], steepest=_exponential_slope)
_register(
    "polynomial",
    _polynomial,
    params={"power": 2.0},
    roles=["family", "stage"],
    steepest=_polynomial_slope,
)
_register(
    "inverse_sqrt",
    _inverse_sqrt,
    params={"timescale": 10000.0},
    over="steps",
    roles=["family"],
    steepest=_inverse_sqrt_slope,
)
BUILTIN_SHAPES.update(SHAPES)
