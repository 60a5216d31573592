"""A shape registered once works everywhere a shape name is accepted (issue 17, item 3).

``register_shape(name, formula, params=...)`` makes ``name`` a family (from Python, as a Hydra
option listed by ``--help``, through ``load_schedule``), a stage shape, a warmup and a cooldown
shape, and the viewer draws it. The example is optax's ``cosine_decay_schedule(exponent=...)``,
which the built-in shapes lack. Every expected value below is an independent formula written
here with ``math``; nothing calls the package's formulas.

Registration is process-global: the ``registry`` fixture restores the registry, the family
table and the option classes after each test, and the "fresh process" checks run in a
subprocess.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from hydra.utils import instantiate

from hydra_optax_schedules import (
    ScheduleConfigError,
    SchedulerConfig,
    StageConfig,
    build_lr_scheduler,
    hydra_options,
    load_schedule,
    register_shape,
    shapes,
)
from hydra_optax_schedules.config import families
from hydra_optax_schedules.viewer import preview


def cosine_pow(xp, x, a, b, exponent):
    """optax's ``cosine_decay_schedule`` with ``exponent``, from ``a`` to ``b``."""
    return b + (a - b) * ((1 + xp.cos(xp.pi * x)) / 2) ** exponent


def register_cosine_pow(default=1.0, **kwargs):
    return register_shape("cosine_pow", cosine_pow, params={"exponent": default}, **kwargs)


def reference_cosine_pow(x, a, b, exponent):
    return b + (a - b) * (0.5 * (1.0 + math.cos(math.pi * x))) ** exponent


pytestmark = pytest.mark.usefixtures("restore_registry")


def assert_values(schedule, reference, steps, peak):
    """Host floats and NumPy equal the reference; ``jax.jit`` within float32."""
    want = np.array([reference(s) for s in steps])
    np.testing.assert_allclose([schedule(s) for s in steps], want, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(schedule(np.array(steps)), want, rtol=1e-12, atol=1e-15)
    jitted = np.asarray(jax.jit(schedule)(jnp.array(steps, dtype=jnp.int32)))
    np.testing.assert_allclose(jitted, want, rtol=5e-6, atol=5e-7 * peak)


# -- as a family, from Python ------------------------------------------------------------------


def family_reference(lr, D, W, end_factor, exponent, cycles=1):
    """Linear warmup from 0, then ``cycles`` equal cycles of cosine_pow from lr to E."""
    end = end_factor * lr
    length = (D - W) // cycles  # the tests choose D - W divisible by cycles

    def value(t):
        t = max(t, 0)  # a step before 0 is step 0
        if t < W:
            return lr * t / W
        if t >= D:
            return end
        x = ((t - W) % length) / length
        return reference_cosine_pow(x, lr, end, exponent)

    return value


@pytest.mark.parametrize("cycles", [1, 3])
def test_family_from_python_equals_optax_cosine_with_exponent(cycles):
    register_cosine_pow()
    lr, D, W = 3e-3, 66, 6
    config = SchedulerConfig(
        name="cosine_pow",
        lr=lr,
        decay_steps=D,
        shape_params={"exponent": 2.0},
        warmup_steps=W,
        end_lr_factor=0.1,
        cycles=cycles,
    )
    schedule = build_lr_scheduler(config)
    assert schedule.config.shape_params == {"exponent": 2.0}
    reference = family_reference(lr, D, W, 0.1, 2.0, cycles)
    assert_values(schedule, reference, [-2, *range(D + 3), 10**6], lr)


def test_a_parameter_left_out_takes_the_default():
    register_cosine_pow(default=3.0)
    schedule = build_lr_scheduler(SchedulerConfig(name="cosine_pow", lr=1.0, decay_steps=10))
    assert schedule.config.shape_params == {"exponent": 3.0}
    assert_values(schedule, family_reference(1.0, 10, 0, 0.0, 3.0), list(range(12)), 1.0)


def test_with_exponent_one_it_is_the_built_in_cosine():
    register_cosine_pow()
    common = {"lr": 1e-3, "decay_steps": 50, "warmup_steps": 5, "cooldown_steps": 5}
    ours = build_lr_scheduler(SchedulerConfig(name="cosine_pow", **common))
    builtin = build_lr_scheduler(SchedulerConfig(name="cosine", **common))
    steps = np.arange(-1, 55)
    np.testing.assert_allclose(ours(steps), builtin(steps), rtol=1e-12, atol=1e-18)
    assert [p.name for p in ours.pieces] == [p.name for p in builtin.pieces]


# -- as a stage, a warmup and a cooldown shape -------------------------------------------------


def test_stage_shape_with_its_own_parameters():
    register_cosine_pow()
    stages = [
        StageConfig(steps=10, shape="cosine_pow", end=0.5, shape_params={"exponent": 3.0}),
        StageConfig(steps=10, shape="cosine_pow", end=0.0),  # the default exponent, 1
    ]
    lr = 2.0
    schedule = build_lr_scheduler(
        SchedulerConfig(name="stages", lr=lr, decay_steps=20, stages=stages)
    )

    def reference(t):
        if t < 10:
            return lr * reference_cosine_pow(t / 10, 1.0, 0.5, 3.0)
        if t < 20:
            return lr * reference_cosine_pow((t - 10) / 10, 0.5, 0.0, 1.0)
        return 0.0

    assert_values(schedule, reference, list(range(23)), lr)


def test_warmup_and_cooldown_shape_with_its_defaults():
    register_shape("cosine_sq", cosine_pow, params={"exponent": 2.0})  # every role by default
    lr, D, W, C = 1.0, 30, 5, 10
    schedule = build_lr_scheduler(
        SchedulerConfig(
            lr=lr,
            decay_steps=D,
            warmup_steps=W,
            warmup_shape="cosine_sq",
            cooldown_steps=C,
            cooldown_shape="cosine_sq",
            cooldown_lr=0.1,
        )
    )

    def reference(t):
        if t < W:
            return reference_cosine_pow(t / W, 0.0, lr, 2.0)
        if t < D - C:
            return lr
        if t < D:
            return reference_cosine_pow((t - (D - C)) / C, lr, 0.1, 2.0)
        return 0.1

    assert_values(schedule, reference, list(range(D + 2)), lr)


def test_roles_limit_where_a_shape_is_accepted():
    register_shape("late", cosine_pow, params={"exponent": 2.0}, roles=["cooldown"])
    assert "late" not in families.SCHEDULE_NAMES
    assert "late" not in hydra_options.OPTION_CLASSES
    with pytest.raises(ScheduleConfigError, match="warmup_shape='late' is invalid") as error:
        build_lr_scheduler(SchedulerConfig(lr=1.0, decay_steps=10, warmup_shape="late"))
    assert error.value.field == "warmup_shape"
    with pytest.raises(ScheduleConfigError, match="name='late' is invalid"):
        build_lr_scheduler(SchedulerConfig(lr=1.0, name="late", decay_steps=10))
    build_lr_scheduler(
        SchedulerConfig(lr=1.0, decay_steps=10, cooldown_steps=4, cooldown_shape="late")
    )


# -- over steps: the power scheduler of Shen et al. (2024) --------------------------------------


def test_power_scheduler_over_steps():
    """lr(n) = min(peak, amplitude * n ** -exponent), n counted from 1 after the warmup."""

    def power(xp, t, a, b, amplitude, exponent):
        return xp.minimum(a, amplitude * (t + 1.0) ** -exponent)

    register_shape("power", power, params={"amplitude": 1.0, "exponent": 0.5}, over="steps")
    lr, W = 0.02, 10
    schedule = build_lr_scheduler(
        SchedulerConfig(
            name="power",
            lr=lr,
            decay_steps=None,  # over steps: no run length needed
            warmup_steps=W,
            shape_params={"amplitude": 0.5, "exponent": 0.51},
        )
    )

    def reference(t):
        return lr * t / W if t < W else min(lr, 0.5 * (t - W + 1) ** -0.51)

    assert_values(schedule, reference, [0, 5, 10, 100, 1000, 2000, 10**5], lr)


# -- the checks ---------------------------------------------------------------------------------


def test_an_unknown_parameter_names_the_field_and_the_valid_ones():
    register_cosine_pow()
    config = SchedulerConfig(name="cosine_pow", lr=1.0, decay_steps=10)
    with pytest.raises(ScheduleConfigError, match=r"shape_params\.exponnt .*exponent") as error:
        build_lr_scheduler(
            SchedulerConfig(**{**config.to_dict(), "shape_params": {"exponnt": 2.0}})
        )
    assert error.value.field == "shape_params.exponnt"
    stage = StageConfig(shape="cosine_pow", end=0.0, shape_params={"exponnt": 2.0})
    with pytest.raises(ScheduleConfigError, match=r"stages\[0\]\.shape_params\.exponnt"):
        build_lr_scheduler(SchedulerConfig(name="stages", lr=1.0, decay_steps=10, stages=[stage]))
    with pytest.raises(ScheduleConfigError, match=r"shape_params\.exponent=.*finite"):
        build_lr_scheduler(
            SchedulerConfig(
                name="cosine_pow", lr=1.0, decay_steps=10, shape_params={"exponent": "x"}
            )
        )


def test_a_family_without_parameters_refuses_shape_params():
    with pytest.raises(
        ScheduleConfigError, match="not a parameter of the cosine shape; it has none"
    ):
        build_lr_scheduler(
            SchedulerConfig(name="cosine", lr=1.0, decay_steps=10, shape_params={"exponent": 2.0})
        )


@pytest.mark.parametrize(
    "name", ["cosine", "linear", "constant", "wsd", "multistep", "stages", "cosine_decay"]
)
def test_built_in_and_reserved_names_cannot_be_registered(name):
    with pytest.raises(ValueError, match="built-in name"):
        register_shape(name, cosine_pow, params={"exponent": 1.0})
    assert shapes.SHAPES.get(name) is None or shapes.SHAPES[name].formula is not cosine_pow


def bad_start(xp, x, a, b):
    return a + (b - a) * x + 0.1


def bad_end(xp, x, a, b):
    return a + (b - a) * 0.9 * x


@pytest.mark.parametrize(
    ("formula", "params", "kwargs", "message"),
    [
        (bad_start, None, {}, r"must start at a \(x = 0\)"),
        (bad_end, None, {}, r"must end at b \(x = 1\)"),
        (lambda xp, x, a: a, None, {}, r"must accept \(xp, x, a, b\)"),
        (cosine_pow, None, {}, r"must accept \(xp, x, a, b\)"),  # exponent has no default
        (bad_end, {"k": 1.0}, {}, r"must accept \(xp, x, a, b, k\)"),
        (lambda xp, x, a, b: xp.nope(x), None, {}, "failed on the host namespace"),
        (cosine_pow, {"exponent": math.inf}, {}, "not finite"),
        (cosine_pow, {"exponent": math.nan}, {}, "not finite"),
        (cosine_pow, {"exponent": "2"}, {}, "not a number"),
        (cosine_pow, {"exponent": 1.0}, {"roles": ["family", "decay"]}, "roles=.* is invalid"),
        (cosine_pow, {"exponent": 1.0}, {"roles": []}, "roles=.* is invalid"),
        (cosine_pow, {"exponent": 1.0}, {"over": "epochs"}, "over='epochs' is invalid"),
    ],
)
def test_a_shape_that_cannot_work_is_refused_at_registration(formula, params, kwargs, message):
    before = dict(shapes.SHAPES), dict(families.SCHEDULE_NAMES)
    with pytest.raises(ValueError, match=message):
        register_shape("mine", formula, params=params, **kwargs)
    assert (dict(shapes.SHAPES), dict(families.SCHEDULE_NAMES)) == before


def test_registering_a_users_name_again_replaces_it():
    first = register_cosine_pow(default=1.0)
    assert families.SCHEDULE_NAMES["cosine_pow"] == "cosine_pow"
    assert "cosine_pow" in hydra_options.OPTION_CLASSES
    second = register_cosine_pow(default=2.0)
    assert shapes.SHAPES["cosine_pow"] is second is not first
    schedule = build_lr_scheduler(SchedulerConfig(name="cosine_pow", lr=1.0, decay_steps=4))
    assert schedule.config.shape_params == {"exponent": 2.0}
    assert hydra_options.OPTION_CLASSES["cosine_pow"]().shape_params.exponent == 2.0
    register_cosine_pow(roles=["stage"])  # no longer a family
    assert "cosine_pow" not in families.SCHEDULE_NAMES
    assert "cosine_pow" not in hydra_options.OPTION_CLASSES
    assert "cosine_pow" in shapes.shapes_for("stage")


# -- load_schedule: only what this process registered --------------------------------------------

SAVED = {
    "_target_": "hydra_optax_schedules.build_schedule",
    "name": "cosine_pow",
    "lr": 1.0,
    "decay_steps": 10,
    "shape_params": {"exponent": 2.0},
}


def test_load_schedule_accepts_a_registered_shape():
    register_cosine_pow()
    schedule = load_schedule(SAVED)
    assert_values(schedule, family_reference(1.0, 10, 0, 0.0, 2.0), list(range(12)), 1.0)
    text = "name: cosine_pow\nlr: 1.0\ndecay_steps: 10\nshape_params:\n  exponent: 2\n"
    assert load_schedule(text)(5) == schedule(5)


def run_python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYDRA_")}
    env["JAX_PLATFORMS"] = "cpu"
    env["PYTHONPATH"] = os.pathsep.join([str(cwd), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_load_schedule_imports_nothing_by_name(tmp_path):
    """In a fresh process the name is unknown, even with a module of that name importable;
    once the user's module registers it, the same config loads."""
    (tmp_path / "cosine_pow.py").write_text(
        textwrap.dedent(
            """
            from pathlib import Path

            from hydra_optax_schedules import register_shape

            Path("imported").write_text("yes")

            def cosine_pow(xp, x, a, b, exponent):
                return b + (a - b) * ((1 + xp.cos(xp.pi * x)) / 2) ** exponent


            register_shape("cosine_pow", cosine_pow, params={"exponent": 1.0})
            """
        )
    )
    proc = run_python(
        f"""
        from hydra_optax_schedules import ScheduleConfigError, load_schedule

        saved = {SAVED!r}
        try:
            load_schedule(saved)
        except ScheduleConfigError as error:
            print("refused:", error)
        else:
            raise SystemExit("loaded an unregistered shape")
        import os
        print("imported:", os.path.exists("imported"))
        import cosine_pow
        print("value:", load_schedule(saved)(5))
        """,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("refused: name='cosine_pow' is invalid: expected one of ")
    assert "'cosine'" in lines[0] and "'inverse_sqrt'" in lines[0]
    assert lines[1] == "imported: False"
    assert float(lines[2].removeprefix("value: ")) == pytest.approx(
        reference_cosine_pow(0.5, 1.0, 0.0, 2.0), rel=1e-12
    )


# -- Hydra: the scheduler group lists it, its parameters are typed ---------------------------------

REGISTER_AT_IMPORT = """
from hydra_optax_schedules import register_shape


def cosine_pow(xp, x, a, b, exponent):
    return b + (a - b) * ((1 + xp.cos(xp.pi * x)) / 2) ** exponent


register_shape("cosine_pow", cosine_pow, params={"exponent": 1.0})
"""


def test_hydra_app_that_registers_at_import(user_app):
    app = user_app.root / "app.py"
    app.write_text(REGISTER_AT_IMPORT + app.read_text())
    help_text = user_app.run("--help").stdout
    options = next(line for line in help_text.splitlines() if line.startswith("scheduler: "))
    assert "cosine_pow" in options.removeprefix("scheduler: ").split(", ")

    user_app.run("scheduler=cosine_pow", "scheduler.shape_params.exponent=3", "probe_steps=102")
    result = user_app.result()
    assert result["scheduler"]["shape_params"] == {"exponent": 3}
    want = [reference_cosine_pow(t / 100, 1e-3, 0.0, 3.0) for t in range(100)] + [0.0, 0.0]
    np.testing.assert_allclose(result["values"], want, rtol=1e-12, atol=1e-18)


@pytest.fixture
def conf_dir(tmp_path):
    (tmp_path / "config.yaml").write_text(
        "defaults:\n  - scheduler: cosine\n  - _self_\nscheduler:\n  lr: 1.0\n  decay_steps: 10\n"
    )
    return str(tmp_path)


def test_hydra_options_are_typed(conf_dir):
    """In-process composition: the option exists once registered, and a misspelt parameter
    is named by the builder with the one it may mean, as from Python."""
    register_cosine_pow()
    with initialize_config_dir(version_base="1.3", config_dir=conf_dir):
        cfg = compose("config", ["scheduler=cosine_pow", "scheduler.shape_params.exponent=3"])
        assert instantiate(cfg.scheduler)(4) == pytest.approx(
            reference_cosine_pow(0.4, 1.0, 0.0, 3.0), rel=1e-12
        )
        cfg = compose("config", ["scheduler=cosine_pow", "scheduler.shape_params.exponnt=3"])
        with pytest.raises(Exception, match=r"exponnt is not a parameter .*did you mean exponent"):
            instantiate(cfg.scheduler)
        with pytest.raises(ConfigCompositionException, match="cosine_pwo"):
            compose("config", ["scheduler=cosine_pwo"])
        # Every option has shape_params (a sweep across families composes); a shape without
        # parameters has none, and the builder refuses any, naming it, as from Python.
        for given in ("scheduler.shape_params.exponent=3", "scheduler.shape_params={exponent: 3}"):
            cfg = compose("config", ["scheduler=cosine", given])
            with pytest.raises(Exception, match=r"shape_params\.exponent is not a parameter"):
                instantiate(cfg.scheduler)


# -- the viewer ----------------------------------------------------------------------------------


def test_the_viewer_draws_it():
    register_cosine_pow()
    schedule = build_lr_scheduler(
        SchedulerConfig(
            name="cosine_pow",
            lr=1.0,
            decay_steps=40,
            warmup_steps=4,
            cycles=2,
            end_lr_factor=0.1,
            shape_params={"exponent": 2.0},
        )
    )
    (curve,), (summary,) = preview({"scheduler": schedule}, 40)
    assert summary.name == "cosine_pow"
    assert [row.name for row in summary.phases] == ["warmup", "cycle 0", "cycle 1"]
    assert summary.boundaries == (4, 22)
    reference = family_reference(1.0, 40, 4, 0.1, 2.0, cycles=2)
    np.testing.assert_allclose(
        curve.values, [reference(int(s)) for s in curve.steps], rtol=1e-12, atol=1e-15
    )
    assert summary.final == pytest.approx(0.1)


def test_parameters_for_which_the_shape_is_not_finite_are_refused_when_built():
    """0 ** -2 at the end of the decay: the config is refused, not the first step that hits it."""
    register_cosine_pow()
    with pytest.raises(
        ScheduleConfigError, match=r"^shape_params is invalid: .* at step 10"
    ) as error:
        build_lr_scheduler(
            SchedulerConfig(
                name="cosine_pow", lr=1.0, decay_steps=10, shape_params={"exponent": -2}
            )
        )
    assert error.value.field == "shape_params"
    stage = StageConfig(shape="cosine_pow", end=0.0, shape_params={"exponent": -1.0})
    with pytest.raises(ScheduleConfigError, match=r"stages\[0\]\.shape_params is invalid"):
        build_lr_scheduler(SchedulerConfig(name="stages", lr=1.0, decay_steps=10, stages=[stage]))
