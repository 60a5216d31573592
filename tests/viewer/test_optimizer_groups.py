"""lrview with an optimizer: each parameter group's learning rate and weight decay over the run.

The values drawn are checked two ways that do not use the viewer's own path: against the spec's
float64 schedule (``reference.py``) times the group's multipliers, and against the optimizer
itself, stepped update by update from ``init``, its ``applied_hyperparams`` read after each.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hydra import compose, initialize_config_module

from hydra_optax_schedules.errors import ScheduleConfigError
from hydra_optax_schedules.optimizer import applied_hyperparams, build_optimizer
from hydra_optax_schedules.viewer import app, group_view

from support.reference import reference_lr


def run_viewer(cwd: Path, *overrides: str, status: int = 0, full_error: bool = True):
    """``python -m hydra_optax_schedules`` from ``cwd``, its run directory ``cwd/run``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYDRA_")}
    if full_error:
        env["HYDRA_FULL_ERROR"] = "1"
    args = [
        sys.executable,
        "-m",
        "hydra_optax_schedules",
        *overrides,
        f"hydra.run.dir={cwd / 'run'}",
    ]
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == status, f"{proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def read_table(path: Path) -> tuple[list[str], list[int], dict[str, np.ndarray]]:
    """``schedule.csv``: its header, its steps and its value columns."""
    header, *lines = path.read_text().splitlines()
    names = header.split(",")
    rows = [line.split(",") for line in lines]
    columns = {name: np.array([float(row[i]) for row in rows]) for i, name in enumerate(names)}
    return names, [int(row[0]) for row in rows], columns


STEPS = 200
WARMUP = 20
BASE = dict(name="cosine", lr=1e-3, decay_steps=STEPS, warmup_steps=WARMUP)
GROUPS = (
    "+optimizer.param_groups={"
    "head:{match:['^head'],lr_mult:10,wd_mult:0.5},"
    "backbone:{match:['^backbone'],freeze:true}}"
)


def compose_viewer(*overrides: str):
    with initialize_config_module("hydra_optax_schedules.viewer.conf", version_base="1.3"):
        return compose("viewer", overrides=[f"steps={STEPS}", *overrides])


def previews(cfg, params=None):
    """The viewer's path without its files: schedules with the run length, the sample, the
    optimizers' curves."""
    schedules = {
        key: app.build_with_run_length(node, STEPS) for key, node in app.schedule_nodes(cfg)
    }
    sampled, _ = app.preview(schedules, STEPS)
    return group_view.preview_optimizers(cfg, schedules, sampled[0].steps, STEPS, params)


def curves_of(preview):
    return {curve.label: curve for curve in preview.curves}


def reference(steps, **overrides):
    return np.array([reference_lr(int(s), **{**BASE, **overrides}) for s in steps])


def test_each_groups_learning_rate_is_its_schedule_times_its_multiplier():
    cfg = compose_viewer(
        "optimizer=adamw",
        "optimizer.weight_decay=0.1",
        f"scheduler.warmup_steps={WARMUP}",
        GROUPS,
    )
    (preview,) = previews(cfg)

    assert preview.key == "optimizer" and preview.name == "adamw"
    curves = curves_of(preview)
    assert list(curves) == ["head", "backbone", "default"]  # config order, default last
    steps = curves["default"].lr.steps
    assert steps[0] == 0 and steps[-1] == STEPS
    expected = reference(steps)
    # float32, the optimizer's dtype: within float32 rounding of the peak (1e-6 of it).
    np.testing.assert_allclose(curves["default"].lr.values, expected, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(curves["head"].lr.values, 10 * expected, rtol=1e-6, atol=1e-8)
    # AdamW's decoupled decay of the base settings: the schedule times weight_decay.
    np.testing.assert_allclose(
        curves["default"].weight_decay.values, 0.1 * expected, rtol=1e-6, atol=1e-10
    )
    assert curves["head"].weight_decay.values.max() > 0
    for frozen in (curves["backbone"].lr, curves["backbone"].weight_decay):
        np.testing.assert_array_equal(frozen.values, 0.0)
    assert curves["backbone"].frozen and not curves["head"].frozen
    assert curves["head"].lr_mean.exact
    np.testing.assert_allclose(
        curves["head"].lr_mean.value, 10 * reference(range(STEPS)).mean(), rtol=1e-6
    )


def test_a_group_whose_curves_are_anothers_stays_seen_in_its_own_dash_pattern():
    pytest.importorskip("matplotlib")
    cfg = compose_viewer(
        "optimizer=adamw", "+optimizer.param_groups={same:{match:['^same'],lr_mult:1}}"
    )
    figure = group_view.groups_figure(previews(cfg), "same")
    for axes in figure.axes[:2]:  # learning rate, weight decay: "same" equals "default"
        same, default = axes.get_lines()
        assert same.get_label() == "same" and default.get_label() == "default"
        np.testing.assert_array_equal(same.get_ydata(), default.get_ydata())
        assert same.get_linestyle() != default.get_linestyle()


def stepped(config, params, steps):
    """``applied_hyperparams`` after each of ``steps`` real updates (random gradients), from
    ``init``: what a training loop would log at updates ``0 .. steps - 1`` of a run of
    ``STEPS`` (given as the run length, as lrview gives its ``steps``)."""
    tx, _ = build_optimizer(config, run_steps=STEPS)
    state = tx.init(params)
    update = jax.jit(lambda g, s, p: tx.update(g, s, p, value=jnp.float32(1.0)))
    logged = []
    key = jax.random.PRNGKey(0)
    for _ in range(steps):
        key, sub = jax.random.split(key)
        grads = jax.tree.map(lambda p, k=sub: jax.random.normal(k, p.shape), params)
        updates, state = update(grads, state, params)
        params = jax.tree.map(lambda p, u: p + u, params, updates)
        logged.append(jax.device_get(applied_hyperparams(state)))
    return logged


@pytest.mark.parametrize("name", ["adamw", "lamb", "sgd"])
def test_the_curves_are_what_the_optimizer_applies_when_stepped(name):
    """Every label and value equals the optimizer's own, stepped update by update; with a
    layer-wise LR decay and a group on its own schedule, from the parameters' paths."""
    paths = ["head.kernel", "layers.0.kernel", "layers.1.kernel", "layers.1.bias", "norm.scale"]
    overrides = [
        f"optimizer={name}",
        "optimizer.weight_decay=0.01",
        "optimizer.layer_decay=0.5",
        "optimizer.layer_index='layers[.](\\d+)'",
        "+optimizer.param_groups={head:{match:['^head'],lr_mult:3},norm:{match:['scale$']}}",
        "+scheduler@optimizer.param_groups.norm.scheduler=constant",
        "optimizer.param_groups.norm.scheduler.lr=0.02",
    ]
    cfg = compose_viewer(*overrides)
    (preview,) = previews(cfg, params=paths)
    curves = curves_of(preview)
    # The groups in config order (Hydra composes the mounted scheduler's group first).
    groups = list(cfg.optimizer.param_groups)
    assert sorted(groups) == ["head", "norm"]
    assert list(curves) == [*groups, "default/layer0", "default/layer1"]

    schedules = {
        key: app.build_with_run_length(node, STEPS) for key, node in app.schedule_nodes(cfg)
    }
    assert set(schedules) == {"scheduler", "optimizer.param_groups.norm.scheduler"}
    params = {
        "head": {"kernel": jnp.ones((2, 2))},
        "layers": [{"kernel": jnp.ones((2, 2))}, {"kernel": jnp.ones((2, 2)), "bias": jnp.ones(2)}],
        "norm": {"scale": jnp.ones(2)},
    }
    logged = stepped(cfg.optimizer, params, 40)
    for label, curve in curves.items():
        for quantity in ("lr", "weight_decay"):
            table = getattr(curve, quantity)
            for step in range(40):
                assert table.at(step) == pytest.approx(
                    float(logged[step][label][quantity]), rel=1e-6, abs=1e-12
                ), (label, quantity, step)
    expected = reference(curves["default/layer0"].lr.steps, warmup_steps=0)
    np.testing.assert_allclose(
        curves["default/layer0"].lr.values, 0.5 * expected, rtol=1e-6, atol=1e-9
    )
    np.testing.assert_allclose(curves["norm"].lr.values, 0.02, rtol=1e-6)


def test_a_plateau_is_drawn_at_its_starting_scale():
    """The plateau follows the loss, unknown before training: the curves are the schedule's,
    even where a plateau fed a constant loss would have cut the scale (patience 0)."""
    cfg = compose_viewer("optimizer=adam", f"scheduler.warmup_steps={WARMUP}")
    with_plateau = cfg.copy()
    with_plateau.optimizer.plateau = {"patience": 0, "factor": 0.5}
    (plain,) = previews(cfg)
    (plateau,) = previews(with_plateau)

    np.testing.assert_array_equal(
        curves_of(plateau)["default"].lr.values, curves_of(plain)["default"].lr.values
    )


def test_layer_decay_without_the_parameters_names_params():
    cfg = compose_viewer("optimizer=adamw", "optimizer.layer_decay=0.5", "optimizer.layer_index=x")
    with pytest.raises(ScheduleConfigError, match=r"optimizer\.layer_decay=0\.5 needs the") as e:
        previews(cfg)
    assert e.value.field == "params"


def test_a_group_that_matches_none_of_the_parameters_is_the_optimizers_error():
    cfg = compose_viewer("optimizer=adamw", "optimizer.weight_decay=0.1", GROUPS)
    with pytest.raises(ScheduleConfigError, match=r"match\[0\]='\^backbone' matches no parameter"):
        previews(cfg, params=["head.kernel", "layers.0.kernel"])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ([], "expected a non-empty list"),
        (["a..b"], "none empty"),
        (["a.b", "a"], "given twice or also holds parameters"),
        (["a", "a.b"], "continues the path of a parameter"),
        ("head.kernel", "expected null"),
    ],
)
def test_bad_parameter_paths_name_params(params, message):
    cfg = compose_viewer("optimizer=adamw")
    with pytest.raises(ScheduleConfigError, match=re.escape(message)) as error:
        previews(cfg, params=params)
    assert error.value.field == "params"


def test_params_without_an_optimizer_is_refused():
    with pytest.raises(ScheduleConfigError, match="the config has no optimizer"):
        previews(compose_viewer(), params=["a"])


@pytest.mark.full  # a subprocess or a real model: the full lane (CI)
def test_a_run_writes_each_groups_columns_table_and_picture(tmp_path):
    proc = run_viewer(
        tmp_path,
        "optimizer=adamw",
        "optimizer.weight_decay=0.1",
        f"steps={STEPS}",
        f"scheduler.warmup_steps={WARMUP}",
        GROUPS,
        "terminal_plot=false",
    )

    names, steps, columns = read_table(tmp_path / "run" / "schedule.csv")
    assert names == [
        "step",
        "lr",
        "lr[head]",
        "weight_decay[head]",
        "lr[backbone]",
        "weight_decay[backbone]",
        "lr[default]",
        "weight_decay[default]",
    ]
    assert steps == list(range(STEPS + 1))
    expected = reference(steps)
    np.testing.assert_allclose(columns["lr[default]"], expected, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(columns["lr[head]"], 10 * expected, rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(columns["lr[backbone]"], 0.0)
    assert (tmp_path / "run" / "groups.png").read_bytes().startswith(b"\x89PNG")
    out = proc.stdout
    assert "optimizer: adamw, learning rate and weight decay per parameter group" in out
    peak, final, mean = 1e-2, reference([STEPS])[0] * 10, 10 * reference(range(STEPS)).mean()
    row = re.search(r"^head +(\S+) +(\S+) +(\S+) ", out, re.MULTILINE)
    assert row is not None, out
    assert [float(v) for v in row.groups()] == pytest.approx([peak, final, mean], rel=6e-4)
    assert re.search(r"^backbone \(frozen\) +0\.000e\+00", out, re.MULTILINE)
    assert "groups.png" in out


@pytest.mark.full  # the full lane (CI): another lrview process
def test_a_bad_params_is_one_line_naming_it(tmp_path):
    proc = run_viewer(
        tmp_path,
        "optimizer=adamw",
        "optimizer.layer_decay=0.5",
        "optimizer.layer_index=x",
        status=1,
        full_error=False,
    )
    assert proc.stderr.strip().count("\n") == 0, proc.stderr
    assert "needs the parameters' paths" in proc.stderr and "params=" in proc.stderr


@pytest.mark.full  # the full lane (CI): another lrview process
def test_every_step_of_each_group_goes_to_the_csv_on_request(tmp_path):
    run_viewer(
        tmp_path,
        "optimizer=sgd",
        "steps=5000",
        "csv_every_step=true",
        "terminal_plot=false",
        "params=[head.w,body.w]",
        "+optimizer.param_groups={head:{match:['^head'],lr_mult:2}}",
    )
    names, steps, columns = read_table(tmp_path / "run" / "schedule.csv")
    assert names == [
        "step",
        "lr",
        "lr[head]",
        "weight_decay[head]",
        "lr[default]",
        "weight_decay[default]",
    ]
    assert steps == list(range(5001))
    expected = np.array([reference_lr(s, name="cosine", lr=1e-3, decay_steps=5000) for s in steps])
    np.testing.assert_allclose(columns["lr[head]"], 2 * expected, rtol=1e-6, atol=2e-9)


def test_a_run_past_the_optimizers_int32_step_count_names_steps():
    from hydra_optax_schedules.viewer.groups import AppliedCurves

    tx, _ = build_optimizer({"name": "sgd", "scheduler": {**BASE, "name": "linear"}})
    curves = AppliedCurves(tx, {"w": jnp.zeros(2)})
    last = np.iinfo(np.int32).max
    assert curves(np.array([0, last]))["default"]["lr"][-1] == 0.0  # the schedule's end, held
    with pytest.raises(ScheduleConfigError, match=r"steps=2147483648 is invalid") as error:
        curves(np.array([0, last + 1]))
    assert error.value.field == "steps"
