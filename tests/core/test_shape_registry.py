"""The shape registry without JAX: what registration checks, what a registered shape is as a
family, a stage, a warmup and a cooldown, and every message, whole.

``tests/jax/test_register_shape.py`` checks the same shapes under ``jit``, in Hydra apps and
in a fresh process; this file runs in-process with host floats and NumPy only, so mutation
testing (``[tool.mutmut]``) can run it. References are written here with ``math``.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from hydra_optax_schedules import (
    ScheduleConfigError,
    SchedulerConfig,
    StageConfig,
    build_lr_scheduler,
    register_shape,
)
from hydra_optax_schedules import shapes as registry
from hydra_optax_schedules.config import families

pytestmark = pytest.mark.usefixtures("restore_registry")


def cosine_pow(xp, x, a, b, exponent):
    return b + (a - b) * ((1 + xp.cos(xp.pi * x)) / 2) ** exponent


def reference_cosine_pow(x, a, b, exponent):
    return b + (a - b) * (0.5 * (1.0 + math.cos(math.pi * x))) ** exponent


def cosine_pow_powered(xp, x, a, b, exponent, power):
    return cosine_pow(xp, x, a, b, exponent * power / power)


def mine(formula, params=None, **kwargs):
    return register_shape("mine", formula, params=params, **kwargs)


# -- registration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "formula", "params", "kwargs", "message"),
    [
        ("1x", cosine_pow, {"exponent": 1.0}, {}, "name='1x' is invalid: expected an identifier"),
        ("wsd", cosine_pow, {"exponent": 1.0}, {}, "'wsd' is a built-in name; choose another"),
        ("sqrt", cosine_pow, {"exponent": 1.0}, {}, "'sqrt' is a built-in name; choose another"),
        (
            "mine",
            cosine_pow,
            {"exponent": 1.0},
            {"over": "epochs"},
            "over='epochs' is invalid: expected one of ('progress', 'steps')",
        ),
        (
            "mine",
            cosine_pow,
            {"exponent": 1.0},
            {"roles": ["family", "decay"]},
            "roles=['decay', 'family'] is invalid: a subset of ('family', 'stage', 'warmup', "
            "'cooldown')",
        ),
        (
            "mine",
            cosine_pow,
            {"exponent": 1.0},
            {"roles": []},
            "roles=[] is invalid: a subset of ('family', 'stage', 'warmup', 'cooldown')",
        ),
        (
            "mine",
            cosine_pow,
            {"x": 1.0},
            {},
            "parameter 'x' of 'mine' is invalid: expected an identifier other than xp, x, t, a, b",
        ),
        ("mine", cosine_pow, {"exponent": math.inf}, {}, "mine.exponent=inf is not finite"),
        ("mine", cosine_pow, {"exponent": math.nan}, {}, "mine.exponent=nan is not finite"),
        ("mine", cosine_pow, {"exponent": True}, {}, "mine.exponent=True is not a number"),
        ("mine", cosine_pow, {"exponent": "2"}, {}, "mine.exponent='2' is not a number"),
        (
            "mine",
            cosine_pow,
            None,
            {},
            "the formula of 'mine' must accept (xp, x, a, b): missing a required argument: "
            "'exponent'",
        ),
        (
            "mine",
            lambda xp, t, a: a,
            None,
            {"over": "steps"},
            "the formula of 'mine' must accept (xp, t, a, b): too many positional arguments",
        ),
        (
            "mine",
            lambda xp, x, a, b: xp.nope(x),
            None,
            {},
            "the formula of 'mine' failed on the host namespace (a=1.0, b=0.25): AttributeError: "
            "'types.SimpleNamespace' object has no attribute 'nope'",
        ),
        (
            "mine",
            lambda xp, x, a, b: a + (b - a) * x + 0.1,
            None,
            {},
            "the formula of 'mine' must start at a (x = 0): with a=1.0, b=0.25 it gives 1.1",
        ),
        (
            "mine",
            lambda xp, x, a, b: a + (b - a) * x * x * 0.5,
            None,
            {},
            "the formula of 'mine' must end at b (x = 1): with a=1.0, b=0.25 it gives 0.625",
        ),
        (
            "mine",
            lambda xp, x, a, b: a,
            None,
            {},
            "'mine' ends where it starts, whatever b is: such a shape holds its start, and can "
            'only be a stage shape (roles=["stage"])',
        ),
        (
            "mine",
            lambda xp, t, a, b: 2 * a,
            None,
            {"over": "steps"},
            "the formula of 'mine' must start at a (x = 0): with a=1.0, b=0.25 it gives 2.0",
        ),
    ],
)
def test_a_shape_that_cannot_work_is_refused_whole(name, formula, params, kwargs, message):
    before = dict(registry.SHAPES), dict(families.SCHEDULE_NAMES)
    with pytest.raises(ValueError) as error:
        register_shape(name, formula, params=params, **kwargs)
    assert str(error.value) == f"register_shape: {message}"
    assert (dict(registry.SHAPES), dict(families.SCHEDULE_NAMES)) == before


def test_the_built_in_shapes_their_roles_and_what_registration_found():
    found = {
        name: (shape.over, sorted(shape.roles), dict(shape.params), shape.holds, shape.total)
        for name, shape in registry.SHAPES.items()
    }
    every = sorted(registry.ROLES)
    assert found == {
        "constant": ("progress", ["stage"], {}, True, True),
        "linear": ("progress", every, {}, False, True),
        "cosine": ("progress", every, {}, False, True),
        "sqrt": ("progress", ["cooldown", "stage"], {}, False, True),
        "exponential": ("progress", ["family", "stage"], {}, False, False),
        "polynomial": ("progress", ["family", "stage"], {"power": 2.0}, False, True),
        "inverse_sqrt": ("steps", ["family"], {"timescale": 10000.0}, False, True),
    }
    assert set(found) == registry.BUILTIN_SHAPES
    assert registry.shapes_for("warmup") == ("linear", "cosine")
    assert registry.shapes_for("cooldown") == ("linear", "cosine", "sqrt")


def test_a_users_shape_is_total_unless_some_ends_make_it_undefined():
    assert mine(lambda xp, x, a, b: a + (b - a) * x).total
    assert not mine(lambda xp, x, a, b: a * xp.exp(x * xp.log(b / a))).total  # a = 0
    assert not mine(lambda xp, x, a, b: a + (b - a) * x**0.5 * b / b).total  # b = 0
    steps = mine(lambda xp, t, a, b, k: a / (1 + k * t), {"k": 1.0}, over="steps")
    assert (steps.total, steps.holds) == (True, False)
    held = register_shape("held", lambda xp, x, a, b: a, roles=["stage"])
    assert (held.holds, held.total) == (True, True)


def test_registering_adds_a_family_and_registering_again_without_the_role_removes_it():
    register_shape("cosine_pow", cosine_pow, params={"exponent": 1.0})
    assert families.SCHEDULE_NAMES["cosine_pow"] == "cosine_pow"
    assert families.is_decaying("cosine_pow")
    assert families.decaying_families()[-1] == "cosine_pow"
    assert families.canonical_name("cosine_pow") == "cosine_pow"
    register_shape("cosine_pow", cosine_pow, params={"exponent": 1.0}, roles=["stage"])
    assert "cosine_pow" not in families.SCHEDULE_NAMES
    assert families.canonical_name("cosine_pow") is None
    assert families.canonical_name(3) is None
    register_shape("rsqrt", lambda xp, t, a, b: a / (1 + t) ** 0.5, over="steps")
    assert families.SCHEDULE_NAMES["rsqrt"] == "rsqrt"
    assert not families.is_decaying("rsqrt")


# -- the family table -------------------------------------------------------------------------

FIELDS = [f.name for f in dataclasses.fields(SchedulerConfig)]
DECAYING = ("linear", "cosine", "exponential", "polynomial")
CYCLES = ("cycles", "cycle_mult", "cycle_decay", "rewarmup_steps", "rewarmup_fraction")
#: Each field that only some families use, and those families.
ONLY = {
    "power": ("polynomial",),
    "timescale": ("inverse_sqrt",),
    **dict.fromkeys(CYCLES, (*DECAYING, "wsd")),  # wsd restarts too (WSD-S)
    "milestones": ("multistep",),
    "milestone_fractions": ("multistep",),
    "decay_factor": ("multistep",),
    "stages": ("stages",),
    "shape_params": (),
}


@pytest.mark.parametrize("family", [*dict.fromkeys(families.SCHEDULE_NAMES.values())])
def test_each_built_in_family_has_every_field_but_those_of_other_families(family):
    expected = tuple(name for name in FIELDS if family in ONLY.get(name, (family,)))
    assert families.family_fields(family) == expected


def test_a_registered_family_has_its_parameters_in_shape_params_and_restarts():
    register_shape("cosine_pow", cosine_pow, params={"exponent": 1.0})
    fields = families.family_fields("cosine_pow")
    assert fields == tuple(
        name for name in FIELDS if name not in ONLY or name in (*CYCLES, "shape_params")
    )
    register_shape("powered", cosine_pow_powered, params={"exponent": 1.0, "power": 2.0})
    assert "power" in families.family_fields("powered")
    assert families.shape_param_fields(registry.SHAPES["powered"]) == ("power",)
    register_shape("plain", lambda xp, x, a, b, power: a + (b - a) * x**power, params={"power": 1})
    assert "shape_params" not in families.family_fields("plain")  # its one parameter is a field


def test_shape_arguments_read_a_field_then_shape_params_then_the_default():
    register_shape("powered", cosine_pow_powered, params={"exponent": 1.0, "power": 2.0})
    config = SchedulerConfig(lr=1.0, power=3.0, shape_params={"exponent": 5.0})
    assert families.shape_arguments("powered", config) == (("exponent", 5.0), ("power", 3.0))
    config = SchedulerConfig(lr=1.0, power=3.0)
    assert families.shape_arguments("powered", config) == (("exponent", 1.0), ("power", 3.0))
    assert families.shape_arguments("powered") == (("exponent", 1.0), ("power", 2.0))
    stage = StageConfig(power=4.0)
    assert families.shape_arguments("polynomial", stage) == (("power", 4.0),)


# -- a registered shape's values, on the host and in NumPy -------------------------------------


def values(schedule, steps):
    host = [schedule(step) for step in steps]
    array = schedule(np.asarray(steps, dtype=np.int64)).tolist()
    return host, array


def test_as_a_family_with_warmup_cycles_and_a_cooldown():
    register_shape("cosine_pow", cosine_pow, params={"exponent": 1.0})
    lr, end, W, C, D = 2.0, 0.2, 4, 6, 50
    schedule = build_lr_scheduler(
        SchedulerConfig(
            name="cosine_pow",
            lr=lr,
            decay_steps=D,
            warmup_steps=W,
            cooldown_steps=C,
            end_lr=end,
            cycles=2,
            shape_params={"exponent": 3.0},
        )
    )
    assert schedule.config.shape_params == {"exponent": 3.0}
    cycle = (D - W - C) // 2

    def reference(step):
        if step < W:
            return lr * step / W
        if step < D - C:
            local = (step - W) % cycle
            return reference_cosine_pow(local / cycle, lr, end, 3.0)
        return end + (0.0 - end) * min((step - (D - C)) / C, 1.0)

    steps = [-3, 0, 3, 4, 5, 23, 24, 25, 43, 44, 45, 49, 50, 51, 1000]
    host, array = values(schedule, steps)
    want = [reference(max(step, 0)) for step in steps]
    assert host == pytest.approx(want, rel=1e-12, abs=1e-15)
    assert array == pytest.approx(want, rel=1e-12, abs=1e-15)


def test_as_a_stage_a_warmup_and_a_cooldown_shape():
    register_shape("cosine_pow", cosine_pow, params={"exponent": 2.0})
    schedule = build_lr_scheduler(
        SchedulerConfig(
            name="stages",
            lr=1.0,
            decay_steps=30,
            warmup_steps=10,
            warmup_shape="cosine_pow",
            cooldown_steps=10,
            cooldown_shape="cosine_pow",
            stages=[StageConfig(shape="cosine_pow", end=0.5, shape_params={"exponent": 0.5})],
        )
    )
    assert [(p.name, p.shape, p.params) for p in schedule.pieces] == [
        ("warmup", "cosine_pow", (("exponent", 2.0),)),
        ("stage 0", "cosine_pow", (("exponent", 0.5),)),
        ("cooldown", "cosine_pow", (("exponent", 2.0),)),
    ]
    steps = [0, 5, 10, 15, 20, 25, 30]
    want = [
        reference_cosine_pow(0.0, 0.0, 1.0, 2.0),
        reference_cosine_pow(0.5, 0.0, 1.0, 2.0),
        reference_cosine_pow(0.0, 1.0, 0.5, 0.5),
        reference_cosine_pow(0.5, 1.0, 0.5, 0.5),
        reference_cosine_pow(0.0, 0.5, 0.0, 2.0),
        reference_cosine_pow(0.5, 0.5, 0.0, 2.0),
        0.0,
    ]
    host, array = values(schedule, steps)
    assert host == pytest.approx(want, rel=1e-12, abs=1e-15)
    assert array == pytest.approx(want, rel=1e-12, abs=1e-15)


def test_a_shape_that_holds_is_a_stage_without_an_end_of_its_own():
    register_shape("held", lambda xp, x, a, b: a, roles=["stage"])
    stages = [StageConfig(steps=5, shape="held", start=0.5), StageConfig(steps=5, end=0.0)]
    schedule = build_lr_scheduler(SchedulerConfig(name="stages", lr=2.0, stages=stages))
    assert [schedule(step) for step in (0, 4, 5, 10)] == [1.0, 1.0, 1.0, 0.0]
    stages[0] = StageConfig(steps=5, shape="held", start=0.5, end=0.25)
    with pytest.raises(ScheduleConfigError) as error:
        build_lr_scheduler(SchedulerConfig(name="stages", lr=2.0, stages=stages))
    assert str(error.value) == (
        "stages[0].end=0.25 is invalid: a held stage holds its start (0.5); leave end unset, or "
        "use another shape"
    )


def test_many_pieces_of_a_total_and_a_partial_shape_equal_the_host():
    """More than four pieces take the indexed path: a total shape reads every piece's values,
    exponential gets stand-ins; both must equal the host values piece by piece."""
    stages = [
        StageConfig(steps=4, shape=("linear", "exponential", "cosine")[j % 3], end=0.1 + j / 10)
        for j in range(9)
    ]
    stages[0] = StageConfig(steps=4, shape="linear", start=0.0, end=0.2)
    schedule = build_lr_scheduler(SchedulerConfig(name="stages", lr=1.0, stages=stages))
    steps = list(range(-2, 40))
    host, array = values(schedule, steps)
    assert array == pytest.approx(host, rel=1e-12, abs=1e-15)
    assert all(math.isfinite(value) for value in array)


# -- shape_params: every message ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape_params", "message", "field"),
    [
        (
            {"exponnt": 2.0},
            "shape_params.exponnt is not a parameter of the cosine_pow shape; did you mean "
            "exponent? its parameters: exponent",
            "shape_params.exponnt",
        ),
        (
            {"exponent": "x"},
            "shape_params.exponent='x' is invalid: expected a finite number that float32 holds "
            "(0, or of magnitude from 1.175e-38 to 3.403e+38)",
            "shape_params.exponent",
        ),
        (
            {"exponent": "2"},
            "shape_params.exponent='2' is invalid: expected a finite number that float32 holds "
            "(0, or of magnitude from 1.175e-38 to 3.403e+38), not a string (from "
            "the environment: ${oc.decode:${oc.env:NAME}})",
            "shape_params.exponent",
        ),
        (
            {"exponent": math.nan},
            "shape_params.exponent=nan is invalid: expected a finite number that float32 holds "
            "(0, or of magnitude from 1.175e-38 to 3.403e+38)",
            "shape_params.exponent",
        ),
        (
            {"exponent": -math.inf},
            "shape_params.exponent=-inf is invalid: expected a finite number that float32 holds "
            "(0, or of magnitude from 1.175e-38 to 3.403e+38)",
            "shape_params.exponent",
        ),
        (
            {"exponent": True},
            "shape_params.exponent=True is invalid: expected a finite number that float32 holds "
            "(0, or of magnitude from 1.175e-38 to 3.403e+38)",
            "shape_params.exponent",
        ),
        (
            "x",
            "shape_params='x' is invalid: expected a mapping of shape parameters",
            "shape_params",
        ),
        (
            {"exponent": -2},
            "shape_params is invalid: the cosine_pow shape with {'exponent': -2.0} is nan at step "
            "10 (main); expected parameters for which it is finite",
            "shape_params",
        ),
    ],
)
def test_shape_params_errors_name_the_field(shape_params, message, field):
    register_shape("cosine_pow", cosine_pow, params={"exponent": 1.0})
    config = SchedulerConfig(name="cosine_pow", lr=1.0, decay_steps=10, shape_params=shape_params)
    with pytest.raises(ScheduleConfigError) as error:
        build_lr_scheduler(config)
    assert (str(error.value), error.value.field) == (message, field)


def test_shape_params_numbers_of_any_kind_and_left_out_ones_take_the_default():
    two = lambda xp, x, a, b, p, q: a + (b - a) * x**p * x**q  # noqa: E731
    register_shape("two", two, params={"p": 1, "q": 2})
    config = SchedulerConfig(name="two", lr=1.0, decay_steps=10, shape_params={"q": np.int32(3)})
    assert build_lr_scheduler(config).config.shape_params == {"p": 1.0, "q": 3.0}
    config = dataclasses.replace(config, shape_params=None)
    assert build_lr_scheduler(config).config.shape_params == {"p": 1.0, "q": 2.0}


def test_a_family_or_stage_without_parameters_refuses_shape_params():
    with pytest.raises(ScheduleConfigError) as error:
        build_lr_scheduler(
            SchedulerConfig(name="cosine", lr=1.0, decay_steps=10, shape_params={"k": 2.0})
        )
    assert str(error.value) == "shape_params.k is not a parameter of the cosine shape; it has none"
    stage = StageConfig(shape="linear", end=0.0, shape_params={"k": 2.0})
    with pytest.raises(ScheduleConfigError) as error:
        build_lr_scheduler(SchedulerConfig(name="stages", lr=1.0, decay_steps=10, stages=[stage]))
    assert str(error.value) == (
        "stages[0].shape_params.k is not a parameter of the linear shape; it has none"
    )
    assert error.value.field == "stages[0].shape_params.k"
    with pytest.raises(ScheduleConfigError) as error:
        build_lr_scheduler(
            SchedulerConfig(name="wsd", lr=1.0, decay_steps=10, shape_params={"k": 2.0})
        )
    assert str(error.value) == "shape_params.k is not a parameter of this family; it has none"
    assert (
        build_lr_scheduler(
            SchedulerConfig(name="cosine", lr=1.0, decay_steps=10, shape_params={})
        ).config.shape_params
        is None
    )


@pytest.mark.parametrize(
    ("fields", "message", "field"),
    [
        (
            {"name": "cosine", "warmup_steps": 4, "warmup_shape": "bad", "warmup_start_lr": 0.5},
            "warmup_shape is invalid: the bad shape with {'k': 1.0} is inf at step 0 (warmup); "
            "expected parameters for which it is finite",
            "warmup_shape",
        ),
        (
            {"name": "cosine", "cooldown_steps": 4, "cooldown_shape": "bad", "end_lr": 0.5},
            "cooldown_shape is invalid: the bad shape with {'k': 1.0} is inf at step 6 "
            "(cooldown); expected parameters for which it is finite",
            "cooldown_shape",
        ),
        (
            {
                "name": "cosine",
                "cycles": 2,
                "rewarmup_steps": 2,
                "warmup_shape": "bad",
                "end_lr": 0.5,
            },
            "warmup_shape is invalid: the bad shape with {'k': 1.0} is inf at step 5 "
            "(rewarmup 1); expected parameters for which it is finite",
            "warmup_shape",
        ),
        (
            {"name": "bad", "end_lr": 0.5},
            "shape_params is invalid: the bad shape with {'k': 1.0} is inf at step 0 (main); "
            "expected parameters for which it is finite",
            "shape_params",
        ),
    ],
)
def test_a_piece_that_is_not_finite_at_its_ends_is_refused_naming_its_field(fields, message, field):
    """A shape that registration accepts can still be undefined for other values: this one
    is infinite wherever a piece starts or ends at 0.5."""

    def bad(xp, x, a, b, k):
        return a + (b - a) * x + (math.inf * k if 0.5 in (a, b) else 0.0)

    register_shape("bad", bad, params={"k": 1.0})
    with pytest.raises(ScheduleConfigError) as error:
        build_lr_scheduler(SchedulerConfig(lr=1.0, decay_steps=10, **fields))
    assert (str(error.value), error.value.field) == (message, field)


def test_totality_is_checked_at_every_end_value_and_position_without_raising():
    """Non-finite values that raise nothing count too: an infinity where a piece starts at
    0.5, halfway through a piece, or a million steps into a piece over steps."""
    at_half = mine(lambda xp, x, a, b: a + (b - a) * x + (math.inf if a == 0.5 else 0.0))
    assert not at_half.total
    halfway = register_shape(
        "halfway", lambda xp, x, a, b: a + (b - a) * x + (math.inf if x == 0.5 else 0.0)
    )
    assert not halfway.total
    late = register_shape(
        "late", lambda xp, t, a, b: a / (1 + t) + (math.inf if t == 1e6 else 0.0), over="steps"
    )
    assert not late.total


def test_registration_checks_both_directions_and_names_every_parameter():
    with pytest.raises(ValueError) as error:
        mine(lambda xp, x, a, b: a - abs(b - a) * x)  # right for a decay only
    assert str(error.value) == (
        "register_shape: the formula of 'mine' must end at b (x = 1): with a=0.25, b=1.0 it "
        "gives -0.5"
    )
    with pytest.raises(ValueError) as error:
        mine(lambda xp, x, a, b: a, {"p": 1.0, "q": 2.0})
    assert str(error.value) == (
        "register_shape: the formula of 'mine' must accept (xp, x, a, b, p, q): got an "
        "unexpected keyword argument 'p'"
    )
    # Ends within a relative 1e-9 are the ends: float rounding in a user's formula is fine.
    assert mine(lambda xp, x, a, b: a + (b - a) * x * (1 + 1e-10)).name == "mine"
