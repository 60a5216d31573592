"""Each built-in shape's steepest slope (``Shape.steepest``, the plan's float32 check of a
slope) is the steepest slope of the spec's formula (``reference.py``), measured here by central
differences over the whole piece, rising and falling."""

from __future__ import annotations

import pytest

from hydra_optax_schedules import register_shape
from hydra_optax_schedules.shapes import BUILTIN_SHAPES, SHAPES

from support.reference import main_value

# (a, b, length): falling and rising, short and long.
ENDS = [(1.0, 0.1, 50.0), (0.2, 3.0, 7.0), (2.5, 0.0, 1000.0)]


def measured_steepest(value, length: float, points: int = 4000) -> float:
    """The largest ``|value(t + h) - value(t - h)| / 2h`` over ``t`` in ``[0, length - h]``
    (the formula read a little before the start; not past the end, where ``polynomial``'s
    base is negative)."""
    h = length / points / 100
    grid = [min(length * i / points, length - h) for i in range(points + 1)]
    return max(abs(value(t + h) - value(t - h)) / (2 * h) for t in grid)


@pytest.mark.parametrize(
    ("shape", "params"),
    [
        ("linear", {}),
        ("cosine", {}),
        ("exponential", {}),
        ("polynomial", {"power": 1.0}),
        ("polynomial", {"power": 2.0}),
        ("polynomial", {"power": 3.5}),
    ],
)
@pytest.mark.parametrize(("a", "b", "length"), ENDS)
def test_a_shapes_steepest_slope_is_the_steepest_of_its_formula(shape, params, a, b, length):
    if shape == "exponential" and b == 0.0:
        b = 1e-3  # exponential: both ends > 0
    power = params.get("power", 1.0)

    def value(t):
        return main_value(shape, t, length, a, b, power, None)

    registered = SHAPES[shape].steepest({"a": a, "b": b, "length": length, **params})
    assert registered == pytest.approx(measured_steepest(value, length), rel=1e-4)


@pytest.mark.parametrize("timescale", [1.0, 37.0, 10000.0])
@pytest.mark.parametrize("a", [1e-3, 2.0])
def test_inverse_sqrts_steepest_slope_is_at_its_start(a, timescale):
    def value(t):
        return main_value("inverse_sqrt", t, None, a, None, None, timescale)

    registered = SHAPES["inverse_sqrt"].steepest(
        {"a": a, "b": 0.0, "length": 1.0, "timescale": timescale}
    )
    # Over steps the piece never ends: its slope falls from its start on.
    assert registered == pytest.approx(measured_steepest(value, 10 * timescale), rel=1e-4)


def test_which_shapes_have_a_steepest_slope():
    """Every built-in shape but sqrt (unbounded at its start, where zero_at_zero keeps the
    derivative finite) has one; constant's is 0."""
    with_slope = {name for name in BUILTIN_SHAPES if SHAPES[name].steepest is not None}
    assert with_slope == BUILTIN_SHAPES - {"sqrt"}
    assert SHAPES["constant"].steepest({"a": 3.0, "b": 1.0, "length": 1.0}) == 0.0


def test_a_users_shape_has_none(restore_registry):
    """A user's shape is checked finite at its ends, not by a slope (plan/assemble.py)."""

    def cubic(xp, x, a, b):
        return a + (b - a) * x**3

    assert register_shape("cubic", cubic).steepest is None
