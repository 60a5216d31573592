"""The schedule viewer end to end: ``python -m hydra_optax_schedules`` in a subprocess.

Every run starts from a temp directory, so the viewer's config must come from the installed
package, and writes only there. Its CSV, summary and pictures are checked against the spec's
float64 formulas in ``reference.py``, never against the package's own output.
"""

from __future__ import annotations

import itertools
import math
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_module

from hydra_optax_schedules.viewer import app

from support.composed_reference import composed_lr
from support.reference import reference_lr

HINT = 'pip install "hydra-optax-schedules[viz]"'

# The summary prints a learning rate with 4 significant digits.
PRINTED = {"rel": 6e-4, "abs": 1e-15}


def run_viewer(
    cwd: Path,
    *overrides: str,
    pythonpath: Path | None = None,
    status: int | None = 0,
    full_error: bool = True,
):
    """Run the viewer from ``cwd``, its run and sweep directories under ``cwd``.

    ``status`` is the exit status expected (``None``: any); ``full_error=False`` runs it as a
    user would, without ``HYDRA_FULL_ERROR``.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYDRA_")}
    if full_error:
        env["HYDRA_FULL_ERROR"] = "1"
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), env.get("PYTHONPATH")]))
    args = [
        sys.executable,
        "-m",
        "hydra_optax_schedules",
        *overrides,
        f"hydra.run.dir={cwd / 'run'}",
        f"hydra.sweep.dir={cwd / 'sweep'}",
    ]
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert status is None or proc.returncode == status, (
        f"viewer exited with {proc.returncode}, not {status}:\n{proc.stdout}\n{proc.stderr}"
    )
    return proc


def read_table(path: Path) -> tuple[list[str], list[int], dict[str, np.ndarray]]:
    """``schedule.csv``: its header, its steps (exact Python ints) and its value columns."""
    header, *lines = path.read_text().splitlines()
    names = header.split(",")
    rows = [line.split(",") for line in lines]
    steps = [int(row[0]) for row in rows]
    columns = {name: np.array([float(row[i]) for row in rows]) for i, name in enumerate(names)}
    return names, steps, columns


def read_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The ``step,lr`` file of a single schedule."""
    names, steps, columns = read_table(path)
    assert names == ["step", "lr"]
    return np.array(steps), columns["lr"]


def assert_sampled_at_every_boundary(steps: list[int], last: int, boundaries: list[int]) -> None:
    """Distinct increasing steps from 0 to ``last``, holding each boundary and both neighbours."""
    assert steps[0] == 0 and steps[-1] == last
    assert all(a < b for a, b in itertools.pairwise(steps))
    present = set(steps)
    for boundary in boundaries:
        around = {step for step in (boundary - 1, boundary, boundary + 1) if 0 <= step <= last}
        assert around <= present


def assert_is_png(path: Path) -> None:
    """A real PNG of a sensible size that is not blank."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert 600 <= width <= 4000
    assert 300 <= height <= 3000
    import matplotlib.image

    pixels = matplotlib.image.imread(path)
    assert pixels.shape[:2] == (height, width)
    assert pixels.std() > 0.01


def hide_modules(root: Path, *names: str) -> Path:
    """A directory that, first on ``PYTHONPATH``, makes importing ``names`` fail."""
    for name in names:
        message = f"No module named {name!r}"
        (root / name).mkdir(parents=True)
        (root / name / "__init__.py").write_text(
            f"raise ModuleNotFoundError({message!r}, name={name!r})\n"
        )
    return root


CASES = {
    "cosine with warmup and cooldown": dict(
        overrides=[
            "scheduler=cosine",
            "scheduler.lr=3e-4",
            "steps=10000",
            "scheduler.warmup_steps=500",
            "scheduler.cooldown_steps=1000",
            "scheduler.end_lr_factor=0.1",
        ],
        steps=10000,
        config=dict(
            name="cosine",
            lr=3e-4,
            decay_steps=10000,
            warmup_steps=500,
            cooldown_steps=1000,
            end_lr_factor=0.1,
        ),
        phases=[("warmup", 0, 500), ("main", 500, 9000), ("cooldown", 9000, 10000)],
    ),
    "exponential whose cooldown ends before the run": dict(
        overrides=[
            "scheduler=exponential",
            "scheduler.end_lr=1e-5",
            "steps=300",
            "scheduler.cooldown_start=150",
            "scheduler.cooldown_steps=50",
        ],
        steps=300,
        config=dict(
            name="exponential",
            lr=1e-3,
            decay_steps=300,
            end_lr=1e-5,
            cooldown_start=150,
            cooldown_steps=50,
        ),
        phases=[("main", 0, 150), ("cooldown", 150, 200), ("hold", 200, 300)],
        reference=composed_lr,
    ),
    "constant with cooldown to a floor": dict(
        overrides=[
            "scheduler=constant",
            "scheduler.lr=0.1",
            "steps=50",
            "scheduler.warmup_steps=10",
            "scheduler.cooldown_steps=15",
            "scheduler.cooldown_lr=0.01",
        ],
        steps=50,
        config=dict(
            name="constant",
            lr=0.1,
            decay_steps=50,
            warmup_steps=10,
            cooldown_steps=15,
            cooldown_lr=0.01,
        ),
        phases=[("warmup", 0, 10), ("main", 10, 35), ("cooldown", 35, 50)],
    ),
}


# The first case in the default lane, every case in the full lane (an lrview process each).
@pytest.mark.parametrize(
    "case",
    [
        pytest.param(case, id=name, marks=[] if n == 0 else [pytest.mark.full])
        for n, (name, case) in enumerate(CASES.items())
    ],
)
def test_a_run_writes_the_reference_curve_and_prints_its_summary(tmp_path, case):
    proc = run_viewer(tmp_path, *case["overrides"])
    steps, config = case["steps"], case["config"]
    reference = case.get("reference", reference_lr)
    expected = np.array([reference(s, **config) for s in range(steps + 1)])

    csv_steps, lrs = read_csv(tmp_path / "run" / "schedule.csv")
    if steps <= 4096:  # a short run: every step
        np.testing.assert_array_equal(csv_steps, np.arange(steps + 1))
    else:
        boundaries = [first for _, first, _ in case["phases"][1:]]
        assert_sampled_at_every_boundary(csv_steps.tolist(), steps, boundaries)
        assert len(csv_steps) < steps / 2
    np.testing.assert_allclose(lrs, expected[csv_steps], rtol=1e-12, atol=1e-15)
    assert_is_png(tmp_path / "run" / "schedule.png")

    out = proc.stdout
    rows = re.findall(r"^(\w+)\s+\[(\d+), (\d+)[)\]]\s+(\S+)\s+(\S+)$", out, re.MULTILINE)
    assert [(name, int(a), int(b)) for name, a, b, _, _ in rows] == case["phases"]
    for name, first, end, start_lr, end_lr in rows:
        if name == "hold":
            assert float(start_lr) == float(end_lr)
            continue
        # A phase's values at its first step and at its end: these families are continuous,
        # so the value it ends at is the value where the next one takes over.
        assert float(start_lr) == pytest.approx(reference(int(first), **config), **PRINTED)
        assert float(end_lr) == pytest.approx(reference(int(end), **config), **PRINTED)

    peak_lr, peak_step = re.search(r"^peak\s+(\S+) at step (\d+)$", out, re.MULTILINE).groups()
    assert float(peak_lr) == pytest.approx(expected.max(), **PRINTED)
    assert int(peak_step) == int(np.argmax(expected))
    final_lr, final_step = re.search(r"^final\s+(\S+) at step (\d+)$", out, re.MULTILINE).groups()
    assert (float(final_lr), int(final_step)) == (pytest.approx(expected[-1], **PRINTED), steps)
    mean_lr, end = re.search(r"^mean\s+(\S+) over steps \[0, (\d+)\)$", out, re.MULTILINE).groups()
    assert (float(mean_lr), int(end)) == (pytest.approx(expected[:-1].mean(), **PRINTED), steps)

    assert "┤" in out  # the terminal plot's axis
    assert " ".join(case["overrides"]) in out
    assert HINT not in out + proc.stderr
    assert not (tmp_path / "outputs").exists()


LAUNCHERS = {
    "basic": [],
    "joblib": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
}
#: The launchers as test parameters: joblib's worker processes in the full lane (CI) only.
LAUNCHER_PARAMS = [
    pytest.param(overrides, id=name, marks=[pytest.mark.full] if overrides else [])
    for name, overrides in LAUNCHERS.items()
]


@pytest.mark.full  # the full lane (CI): a multirun (test_comparison stays)
@pytest.mark.parametrize("launcher", LAUNCHER_PARAMS)
def test_a_multirun_draws_every_job_in_one_comparison(tmp_path, launcher):
    if launcher:
        pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    names = ["constant", "cosine", "linear"]
    common = ["scheduler.end_lr_factor=0.1", "steps=200", "scheduler.warmup_steps=20"]
    proc = run_viewer(tmp_path, "-m", *launcher, f"scheduler={','.join(names)}", *common)

    sweep = tmp_path / "sweep"
    assert sorted(sweep.rglob("comparison.png")) == [sweep / "comparison.png"]
    assert_is_png(sweep / "comparison.png")
    assert f"wrote comparison.csv and comparison.png ({len(names)} runs) in {sweep}" in proc.stdout
    for job, name in enumerate(names):
        config = dict(name=name, lr=1e-3, decay_steps=200, warmup_steps=20, end_lr_factor=0.1)
        steps, lrs = read_csv(sweep / str(job) / "schedule.csv")
        np.testing.assert_array_equal(steps, np.arange(201))
        expected = [reference_lr(s, **config) for s in range(201)]
        np.testing.assert_allclose(lrs, expected, rtol=1e-12, atol=1e-15)
        assert (sweep / str(job) / "schedule.png").is_file()
        assert f"scheduler={name}" in proc.stdout
    assert not (tmp_path / "multirun").exists()


@pytest.mark.full  # the full lane (CI): a multirun
def test_the_modern_shapes_draw_together(tmp_path):
    """Issue 4: ``-m scheduler=cosine,wsd,inverse_sqrt`` draws the three in one comparison."""
    common = ["steps=300", "scheduler.warmup_steps=30"]
    proc = run_viewer(tmp_path, "-m", "scheduler=cosine,wsd,inverse_sqrt", *common)

    sweep = tmp_path / "sweep"
    assert_is_png(sweep / "comparison.png")
    assert f"wrote comparison.csv and comparison.png (3 runs) in {sweep}" in proc.stdout
    configs = [
        dict(name="cosine"),
        dict(name="wsd", cooldown_shape="sqrt"),  # the option's shape; the 20% is the family's
        dict(name="inverse_sqrt"),
    ]
    for job, config in enumerate(configs):
        config = dict(lr=1e-3, decay_steps=300, warmup_steps=30, **config)
        _, lrs = read_csv(sweep / str(job) / "schedule.csv")
        expected = [reference_lr(s, **config) for s in range(301)]
        np.testing.assert_allclose(lrs, expected, rtol=1e-12, atol=1e-15)


def test_without_the_plotting_extra_a_run_still_summarizes_and_writes_the_csv(tmp_path):
    hidden = hide_modules(tmp_path / "hidden", "matplotlib", "plotext")
    proc = run_viewer(tmp_path, "steps=100", "scheduler.warmup_steps=10", pythonpath=hidden)

    assert "peak   1.000e-03 at step 10" in proc.stdout
    hints = [line for line in (proc.stdout + proc.stderr).splitlines() if HINT in line]
    assert len(hints) == 1, proc.stdout + proc.stderr
    _, lrs = read_csv(tmp_path / "run" / "schedule.csv")
    expected = [
        reference_lr(s, name="cosine", lr=1e-3, decay_steps=100, warmup_steps=10)
        for s in range(101)
    ]
    np.testing.assert_allclose(lrs, expected, rtol=1e-12, atol=1e-15)
    assert not (tmp_path / "run" / "schedule.png").exists()


def test_the_viewer_needs_no_jax(tmp_path):
    hidden = hide_modules(tmp_path / "hidden", "jax", "optax")
    run_viewer(tmp_path, "scheduler=linear", "steps=100", pythonpath=hidden)

    _, lrs = read_csv(tmp_path / "run" / "schedule.csv")
    expected = [reference_lr(s, name="linear", lr=1e-3, decay_steps=100) for s in range(101)]
    np.testing.assert_allclose(lrs, expected, rtol=1e-12, atol=1e-15)


def test_without_the_plotting_extra_a_multirun_gives_the_hint_once(tmp_path):
    hidden = hide_modules(tmp_path / "hidden", "matplotlib", "plotext")
    proc = run_viewer(tmp_path, "-m", "steps=50,60", pythonpath=hidden)

    hints = [line for line in (proc.stdout + proc.stderr).splitlines() if HINT in line]
    assert len(hints) == 1, proc.stdout + proc.stderr
    sweep = tmp_path / "sweep"
    assert (sweep / "0" / "schedule.csv").is_file()
    assert (sweep / "1" / "schedule.csv").is_file()
    assert not list(sweep.rglob("*.png"))


# 2**63 - 1 in the default lane, every length in the full lane (an lrview process each).
@pytest.mark.parametrize(
    "steps",
    [
        pytest.param(10**8, id="1e8", marks=pytest.mark.full),
        pytest.param(10**12, id="1e12", marks=pytest.mark.full),
        pytest.param(2**63 - 1, id="2**63-1"),
    ],
)
def test_a_long_run_is_sampled_with_every_boundary_and_an_exact_peak_and_final(tmp_path, steps):
    """Issue 10 item 7: any run length previews from a few thousand steps, boundaries kept."""
    warmup, cooldown = 1000, steps // 5
    overrides = [
        "scheduler=cosine",
        f"steps={steps}",
        f"scheduler.warmup_steps={warmup}",
        f"scheduler.cooldown_steps={cooldown}",
        "scheduler.end_lr_factor=0.1",
        "scheduler.cooldown_shape=sqrt",
    ]
    proc = run_viewer(tmp_path, *overrides)
    config = dict(
        name="cosine",
        lr=1e-3,
        decay_steps=steps,
        warmup_steps=warmup,
        cooldown_steps=cooldown,
        end_lr_factor=0.1,
        cooldown_shape="sqrt",
    )

    csv_steps, lrs = read_csv(tmp_path / "run" / "schedule.csv")
    assert len(csv_steps) <= 10_000
    steps_exactly = read_table(tmp_path / "run" / "schedule.csv")[1]
    assert_sampled_at_every_boundary(steps_exactly, steps, [warmup, steps - cooldown])
    expected = [reference_lr(step, **config) for step in steps_exactly]
    np.testing.assert_allclose(lrs, expected, rtol=1e-9, atol=1e-15)

    out = proc.stdout
    assert f"warmup    [0, {warmup})" in out
    assert f"cooldown  [{steps - cooldown}, {steps}]" in out
    assert re.search(rf"^peak   1\.000e-03 at step {warmup}$", out, re.MULTILINE)
    assert re.search(rf"^final  0\.000e\+00 at step {steps}$", out, re.MULTILINE)
    mean = re.search(
        r"^mean   (\S+) over steps \[0, (\d+)\) \(estimated from (\d+) sampled steps: "
        r"relative error ~(\S+)\)$",
        out,
        re.MULTILINE,
    )
    assert mean is not None, out
    assert int(mean[2]) == steps and int(mean[3]) == len(csv_steps)
    # The run is dominated by the cosine and the 1-sqrt cooldown, whose means are known in
    # closed form over a continuous run: (lr + E) / 2 over the main phase, and E / 3 over
    # the cooldown (1 - sqrt falls to 0 and averages 1/3). The warmup is negligible here.
    lr, end = 1e-3, 1e-4
    main = steps - warmup - cooldown
    continuous = ((lr + end) / 2 * main + end / 3 * cooldown + lr / 2 * warmup) / steps
    assert float(mean[1]) == pytest.approx(continuous, rel=1e-3)


def test_the_mean_of_a_linear_run_is_exact_when_sampled(tmp_path):
    """A linear decay over D steps averages lr * (D + 1) / (2 D) over steps 0..D-1, exactly."""
    steps = 10**12
    proc = run_viewer(tmp_path, "scheduler=linear", "scheduler.lr=1", f"steps={steps}")

    mean = re.search(r"^mean   (\S+) over steps", proc.stdout, re.MULTILINE)[1]
    assert float(mean) == pytest.approx((steps + 1) / (2 * steps), **PRINTED)


def test_every_step_goes_to_the_csv_on_request(tmp_path):
    run_viewer(tmp_path, "steps=5000", "scheduler.warmup_steps=100", "csv_every_step=true")

    csv_steps, lrs = read_csv(tmp_path / "run" / "schedule.csv")
    np.testing.assert_array_equal(csv_steps, np.arange(5001))
    config = dict(name="cosine", lr=1e-3, decay_steps=5000, warmup_steps=100)
    expected = [reference_lr(step, **config) for step in range(5001)]
    np.testing.assert_allclose(lrs, expected, rtol=1e-12, atol=1e-15)


def assert_one_line_error(proc, *names: str) -> str:
    """The run failed with one line on stderr, naming ``names``, and no traceback."""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    for name in names:
        assert name in lines[0]
    return lines[0]


def test_a_field_without_effect_is_one_warning_line_not_a_python_warning(tmp_path):
    proc = run_viewer(tmp_path, "scheduler=wsd", "scheduler.end_lr=0.1", "terminal_plot=false")
    assert proc.stderr.splitlines() == [
        "warning: scheduler.end_lr=0.1 has no effect on this wsd schedule (end_lr needs a "
        "decaying family (linear, cosine, exponential, polynomial)); it is built as if unset"
    ]
    assert "wsd schedule over 1000 steps" in proc.stdout


BAD_STEPS = ["0", "1.5", "abc", "-3", "2**63", str(2**63), "true", "null"]


def assert_names_only_steps(line: str) -> None:
    assert line.startswith("steps=") and "is invalid" in line and "2**63 - 1" in line
    assert "decay_steps" not in line


@pytest.mark.parametrize("value", BAD_STEPS)
def test_a_bad_run_length_from_the_command_line_is_refused_naming_steps(value):
    """Whatever the command line's grammar makes of the value (a float, a bool, None, a
    string), the viewer's run length check refuses it naming ``steps`` (in this process: the
    test below runs lrview on each value)."""
    with initialize_config_module("hydra_optax_schedules.viewer.conf", version_base="1.3"):
        cfg = compose("viewer", overrides=[f"steps={value}"])
    nodes = list(app.schedule_nodes(cfg))
    with pytest.raises(app.ViewerError) as error:
        app.run_length(cfg, app.RUN_LENGTH_KEY, nodes)
    assert_names_only_steps(str(error.value))


# An lrview process each: the first value in the default lane, every value in the full lane.
@pytest.mark.parametrize(
    "value",
    [
        pytest.param(value, marks=[] if n == 0 else [pytest.mark.full])
        for n, value in enumerate(BAD_STEPS)
    ],
)
def test_a_bad_run_length_is_one_line_naming_steps(tmp_path, value):
    proc = run_viewer(tmp_path, f"steps={value}", status=1, full_error=False)

    assert_names_only_steps(assert_one_line_error(proc, "steps="))
    assert not (tmp_path / "run" / "schedule.csv").exists()


def test_a_schedules_own_error_keeps_its_field_and_loses_the_traceback(tmp_path):
    proc = run_viewer(tmp_path, "scheduler.warmup_steps=5000", status=1, full_error=False)

    line = assert_one_line_error(proc, "scheduler.warmup_steps=5000", "steps=1000")
    assert line.endswith(
        "(scheduler.decay_steps is the run length, run_steps=1000) (lrview passes steps=1000 "
        "as run_steps)"
    )


def test_a_decay_steps_other_than_steps_is_one_line_naming_both(tmp_path):
    # As examples/train.py, which passes its steps as run_steps, refuses the same command line.
    proc = run_viewer(
        tmp_path, "steps=300", "scheduler.decay_steps=100", status=1, full_error=False
    )

    line = assert_one_line_error(proc, "scheduler.decay_steps=100", "run_steps=300", "steps=300")
    assert "disagree" in line


def test_every_step_of_a_huge_run_is_refused_in_one_line(tmp_path):
    proc = run_viewer(tmp_path, f"steps={10**7}", "csv_every_step=true", status=1, full_error=False)

    assert_one_line_error(proc, "csv_every_step=true", f"steps={10**7}")


@pytest.mark.full  # the full lane (CI): a multirun
@pytest.mark.parametrize("launcher", LAUNCHER_PARAMS)
def test_a_sweep_with_a_failing_job_compares_the_others_and_fails(tmp_path, launcher):
    """Hydra skips on_multirun_end after a failed job; the comparison is drawn anyway."""
    if launcher:
        pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    proc = run_viewer(
        tmp_path,
        "-m",
        *launcher,
        "scheduler.warmup_steps=10,5000,20",
        "steps=1000",
        status=1,
        full_error=False,
    )

    sweep = tmp_path / "sweep"
    assert_is_png(sweep / "comparison.png")
    assert f"wrote comparison.csv and comparison.png (2 runs) in {sweep}" in proc.stdout
    assert (sweep / "0" / "schedule.csv").is_file()
    assert not (sweep / "1" / "schedule.csv").exists()
    assert (sweep / "2" / "schedule.csv").is_file()
    failed = [line for line in proc.stderr.splitlines() if line.startswith("job ")]
    assert failed == [
        "job 1 failed (scheduler.warmup_steps=5000 steps=1000): scheduler.warmup_steps=5000 "
        "+ scheduler.cooldown_steps=0 > scheduler.decay_steps=1000 is invalid: warmup and "
        "cooldown must fit in decay_steps (scheduler.decay_steps is the run length, "
        "run_steps=1000) (lrview passes steps=1000 as run_steps)"
    ]
    assert "Traceback" not in proc.stderr


def test_every_schedule_in_the_config_is_drawn_and_written(tmp_path):
    """Issue 13: ``+scheduler@wd_schedule=linear`` gets the run length and a column."""
    overrides = ["+scheduler@wd_schedule=linear", "wd_schedule.lr=0.05", "steps=1000"]
    proc = run_viewer(tmp_path, *overrides)

    names, steps, columns = read_table(tmp_path / "run" / "schedule.csv")
    assert names == ["step", "lr", "wd_schedule"]
    assert steps == list(range(1001))
    lr = [reference_lr(step, name="cosine", lr=1e-3, decay_steps=1000) for step in steps]
    wd = [reference_lr(step, name="linear", lr=0.05, decay_steps=1000) for step in steps]
    np.testing.assert_allclose(columns["lr"], lr, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(columns["wd_schedule"], wd, rtol=1e-12, atol=1e-15)
    assert_is_png(tmp_path / "run" / "schedule.png")

    out = proc.stdout
    assert out.startswith(f"2 schedules over 1000 steps: {' '.join(overrides)}")
    assert "\nscheduler: cosine\n" in out and "\nwd_schedule: linear\n" in out
    assert re.search(r"^peak   5\.000e-02 at step 0$", out, re.MULTILINE)
    assert re.search(r"^mean   2\.502e-02 over steps \[0, 1000\)$", out, re.MULTILINE)
    assert out.count("┤") >= 2 * 5  # two terminal plots, five y ticks each
    assert "scheduler: cosine" in out and "wd_schedule: linear" in out


def test_a_schedule_anywhere_keeps_its_own_length_if_it_sets_one(tmp_path):
    """A schedule is found by its ``_target_``, at any depth; its own decay_steps stays."""
    overrides = [
        "+scheduler@optim.ema=constant",
        "optim.ema.lr=1.0",
        "optim.ema.warmup_start_lr=0.996",
        "optim.ema.warmup_steps=200",
        "optim.ema.warmup_shape=cosine",
        "steps=300",
    ]
    proc = run_viewer(tmp_path, *overrides)

    names, steps, columns = read_table(tmp_path / "run" / "schedule.csv")
    assert names == ["step", "lr", "optim.ema"]
    config = dict(
        name="constant", lr=1.0, warmup_start_lr=0.996, warmup_steps=200, warmup_shape="cosine"
    )
    expected = [reference_lr(step, **config) for step in steps]
    np.testing.assert_allclose(columns["optim.ema"], expected, rtol=1e-12, atol=1e-15)
    assert "optim.ema: constant" in proc.stdout


def test_a_users_own_schedule_node_without_decay_steps_gets_the_run_length(tmp_path):
    """A plain YAML node (no typed option, no decay_steps key) whose _target_ is the builder."""
    own = tmp_path / "own" / "teacher"
    own.mkdir(parents=True)
    (own / "ramp.yaml").write_text(
        "_target_: hydra_optax_schedules.build_schedule\nname: linear\nlr: 0.3\n"
    )
    run_viewer(tmp_path, f"--config-dir={tmp_path / 'own'}", "+teacher@ema=ramp", "steps=50")

    names, steps, columns = read_table(tmp_path / "run" / "schedule.csv")
    assert names == ["step", "lr", "ema"]
    expected = [reference_lr(step, name="linear", lr=0.3, decay_steps=50) for step in steps]
    np.testing.assert_allclose(columns["ema"], expected, rtol=1e-12, atol=1e-15)


def test_values_up_to_the_float32_limit_are_drawn_and_averaged(tmp_path):
    proc = run_viewer(tmp_path, "scheduler=linear", "scheduler.lr=3e38", "steps=100")

    assert_is_png(tmp_path / "run" / "schedule.png")
    mean = re.search(r"^mean   (\S+) over steps", proc.stdout, re.MULTILINE)[1]
    assert math.isfinite(float(mean))
    assert float(mean) == pytest.approx(3e38 * 101 / 200, **PRINTED)


# An lrview process each, refused alike (a peak past float32's): the nearer the largest float in
# the default lane, both in the full lane.
@pytest.mark.parametrize("lr", [pytest.param("1e308", marks=pytest.mark.full), "1.75e308"])
def test_a_peak_near_the_largest_float_is_previewed_or_refused_in_one_line(tmp_path, lr):
    """Never a crash in the plots nor "mean inf": the core refuses a peak float32 cannot hold,
    at build time, in one line naming the field."""
    proc = run_viewer(tmp_path, f"scheduler.lr={lr}", "steps=100", status=None, full_error=False)

    assert proc.returncode != 0
    assert "float32" in assert_one_line_error(proc, "scheduler.lr=")


def test_the_plots_draw_values_up_to_the_largest_float(tmp_path):
    from hydra_optax_schedules.viewer import plots
    from hydra_optax_schedules.viewer.sampling import Mean
    from hydra_optax_schedules.viewer.summary import PhaseRow, Summary
    from hydra_optax_schedules.viewer.table import Table as Curve

    largest = np.finfo(np.float64).max
    curve = Curve(np.array([0, 5, 10]), np.array([largest, largest / 2, 0.0]))
    summary = Summary(
        key="scheduler",
        name="linear",
        steps=10,
        phases=(PhaseRow("main", 0, 10, largest, 0.0, "main"),),
        peak=largest,
        peak_step=0,
        final=0.0,
        mean=Mean(largest / 2, exact=True, relative_error=0.0, samples=10),
    )

    text = plots.terminal_plot([("", curve)], "huge", color=False)
    plots.save_schedule_png([("learning rate", curve, summary)], "huge", tmp_path / "one.png")
    plots.save_comparison_png([("huge", {"lr": curve})], "huge", tmp_path / "all.png")

    assert "1.80e308" in text
    assert_is_png(tmp_path / "one.png")
    assert_is_png(tmp_path / "all.png")


@pytest.mark.full  # the full lane (CI): a multirun
def test_a_sweep_of_two_schedules_compares_both(tmp_path):
    overrides = ["+scheduler@wd_schedule=linear", "wd_schedule.lr=0.05", "steps=100,200"]
    proc = run_viewer(tmp_path, "-m", *overrides)

    sweep = tmp_path / "sweep"
    assert_is_png(sweep / "comparison.png")
    assert f"wrote comparison.csv and comparison.png (2 runs) in {sweep}" in proc.stdout


@pytest.mark.full  # the full lane (CI): a fresh virtualenv
def test_the_viewer_runs_from_an_installed_wheel(tmp_path):
    from support.venvs import build_wheel, fresh_venv, pip_install

    wheel = build_wheel(tmp_path / "dist")
    python = fresh_venv(tmp_path / "venv")
    pip_install(python, str(wheel))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HYDRA_", "PYTHON"))}
    work = tmp_path / "work"
    work.mkdir()

    def run(*args: str) -> str:
        proc = subprocess.run(
            [*args, f"hydra.run.dir={work / 'run'}", f"hydra.sweep.dir={work / 'sweep'}"],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout

    run(str(python), "-m", "hydra_optax_schedules", "steps=20")
    _, lrs = read_csv(work / "run" / "schedule.csv")
    expected = [reference_lr(s, name="cosine", lr=1e-3, decay_steps=20) for s in range(21)]
    np.testing.assert_allclose(lrs, expected, rtol=1e-12, atol=1e-15)
    assert (work / "run" / "schedule.png").is_file()

    out = run(str(python.parent / "lrview"), "-m", "steps=20,30")
    assert f"wrote comparison.csv and comparison.png (2 runs) in {work / 'sweep'}" in out
    location = subprocess.run(
        [python, "-c", "import hydra_optax_schedules.viewer as v; print(v.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert location.startswith(str(tmp_path / "venv"))


def test_resume_step_previews_a_run_branched_off_it_to_its_end_and_is_named_when_missing(tmp_path):
    branch = ["scheduler.cooldown_start=resume", "scheduler.cooldown_steps=100", "steps=1000"]
    proc = run_viewer(tmp_path, *branch, "resume_step=400", "terminal_plot=false")
    csv_steps, lrs = read_csv(tmp_path / "run" / "schedule.csv")
    config = {"lr": 1e-3, "name": "cosine", "decay_steps": 1000}
    expected = [composed_lr(s, **config, cooldown_start=400, cooldown_steps=100) for s in csv_steps]
    np.testing.assert_allclose(lrs, expected, rtol=1e-12, atol=1e-15)
    # The branched run ends where its cooldown ends (as the example trainer's), not at steps.
    assert re.search(r"^cooldown\s+\[400, 500\]", proc.stdout, re.MULTILINE), proc.stdout
    assert "cosine schedule over 500 steps" in proc.stdout
    assert csv_steps[-1] == 500
    # Without it: one line that names the field and the viewer's option.
    proc = run_viewer(tmp_path, *branch, status=1, full_error=False)
    line = assert_one_line_error(proc, "scheduler.cooldown_start='resume'", "resume_step")
    assert line.endswith("(lrview's option resume_step: none is given; e.g. resume_step=4000)")
