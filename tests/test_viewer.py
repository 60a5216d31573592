"""The schedule viewer end to end: ``python -m hydra_optax_schedules`` in a subprocess.

Every run starts from a temp directory, so the viewer's config must come from the installed
package, and writes only there. Its CSV, summary and pictures are checked against the spec's
float64 formulas in ``reference.py``, never against the package's own output.
"""

from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from reference import reference_lr

HINT = 'pip install "hydra-optax-schedules[viz]"'

# The summary prints a learning rate with 4 significant digits.
PRINTED = {"rel": 6e-4, "abs": 1e-15}


def run_viewer(cwd: Path, *overrides: str, pythonpath: Path | None = None):
    """Run the viewer from ``cwd``, its run and sweep directories under ``cwd``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYDRA_")}
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
    assert proc.returncode == 0, f"viewer failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc


def read_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    assert path.read_text().splitlines()[0] == "step,lr"
    table = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    return table[:, 0], table[:, 1]


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
    "exponential that ends before the run": dict(
        overrides=[
            "scheduler=exponential",
            "scheduler.end_lr=1e-5",
            "steps=300",
            "scheduler.decay_steps=200",
        ],
        steps=300,
        config=dict(name="exponential", lr=1e-3, decay_steps=200, end_lr=1e-5),
        phases=[("main", 0, 200), ("hold", 200, 300)],
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


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_run_writes_the_reference_curve_and_prints_its_summary(tmp_path, case):
    proc = run_viewer(tmp_path, *case["overrides"])
    steps, config = case["steps"], case["config"]
    expected = np.array([reference_lr(s, **config) for s in range(steps + 1)])

    csv_steps, lrs = read_csv(tmp_path / "run" / "schedule.csv")
    np.testing.assert_array_equal(csv_steps, np.arange(steps + 1))
    np.testing.assert_allclose(lrs, expected, rtol=1e-12, atol=1e-15)
    assert_is_png(tmp_path / "run" / "schedule.png")

    out = proc.stdout
    rows = re.findall(r"^(\w+)\s+\[(\d+), (\d+)[)\]]\s+(\S+)\s+(\S+)$", out, re.MULTILINE)
    assert [(name, int(a), int(b)) for name, a, b, _, _ in rows] == case["phases"]
    for name, first, end, start_lr, end_lr in rows:
        if name == "hold":
            assert float(start_lr) == float(end_lr)
            continue
        # A phase's values at its first step and at the step where the next one takes over.
        assert float(start_lr) == pytest.approx(reference_lr(int(first), **config), **PRINTED)
        assert float(end_lr) == pytest.approx(reference_lr(int(end), **config), **PRINTED)

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


@pytest.mark.parametrize("launcher", LAUNCHERS.values(), ids=LAUNCHERS.keys())
def test_a_multirun_draws_every_job_in_one_comparison(tmp_path, launcher):
    if launcher:
        pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    names = ["constant", "cosine", "linear"]
    common = ["scheduler.end_lr_factor=0.1", "steps=200", "scheduler.warmup_steps=20"]
    proc = run_viewer(tmp_path, "-m", *launcher, f"scheduler={','.join(names)}", *common)

    sweep = tmp_path / "sweep"
    assert sorted(sweep.rglob("comparison.png")) == [sweep / "comparison.png"]
    assert_is_png(sweep / "comparison.png")
    assert f"wrote comparison.png ({len(names)} runs) in {sweep}" in proc.stdout
    for job, name in enumerate(names):
        config = dict(name=name, lr=1e-3, decay_steps=200, warmup_steps=20, end_lr_factor=0.1)
        steps, lrs = read_csv(sweep / str(job) / "schedule.csv")
        np.testing.assert_array_equal(steps, np.arange(201))
        expected = [reference_lr(s, **config) for s in range(201)]
        np.testing.assert_allclose(lrs, expected, rtol=1e-12, atol=1e-15)
        assert (sweep / str(job) / "schedule.png").is_file()
        assert f"scheduler={name}" in proc.stdout
    assert not (tmp_path / "multirun").exists()


def test_the_modern_shapes_draw_together(tmp_path):
    """Issue 4: ``-m scheduler=cosine,wsd,inverse_sqrt`` draws the three in one comparison."""
    common = ["steps=300", "scheduler.warmup_steps=30"]
    proc = run_viewer(tmp_path, "-m", "scheduler=cosine,wsd,inverse_sqrt", *common)

    sweep = tmp_path / "sweep"
    assert_is_png(sweep / "comparison.png")
    assert f"wrote comparison.png (3 runs) in {sweep}" in proc.stdout
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


@pytest.mark.slow
def test_the_viewer_runs_from_an_installed_wheel(tmp_path):
    from venvs import build_wheel, fresh_venv, pip_install

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
    assert f"wrote comparison.png (2 runs) in {work / 'sweep'}" in out
    location = subprocess.run(
        [python, "-c", "import hydra_optax_schedules.viewer as v; print(v.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert location.startswith(str(tmp_path / "venv"))
