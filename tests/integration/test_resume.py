"""Resuming a run: the schedule rebuilt in a fresh process from the config saved mid-run gives
the learning rates the run would have had, from the resume step on.

The "training script" here composes its config with Hydra, trains with an optax optimizer,
and at the resume step saves a checkpoint as a training script would: its whole config as
YAML (interpolations unresolved, as Hydra writes ``.hydra/config.yaml``), the step reached,
and the run length if it was only known at runtime. A fresh process rebuilds the schedule
through the safe loader and through ``build_lr_scheduler``, restores the optimizer's step
count, and continues.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hydra import compose, initialize
from hydra.utils import instantiate
from omegaconf import OmegaConf

from support.reference import reference_lr
from support.tolerance import float32_tolerance

# The full lane (CI): five training runs and a fresh process (about 15 s on each worker).
pytestmark = pytest.mark.full

RESUMED_STEPS = 240

RESUME = """
import json
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import optax
from omegaconf import OmegaConf

from hydra_optax_schedules import build_lr_scheduler
from hydra_optax_schedules.safe_load import load_schedule


def continue_run(schedule, step, count):
    optimizer = optax.scale_by_schedule(schedule)
    state = optimizer.init(jnp.zeros(()))
    state = state._replace(count=jnp.asarray(step, dtype=state.count.dtype))
    update = jax.jit(optimizer.update)
    updates = []
    for _ in range(count):
        scaled, state = update(jnp.ones(()), state)
        updates.append(float(scaled))
    steps = range(step, step + count)
    return {
        "host": [schedule(s) for s in steps],
        "jit": [float(v) for v in jax.jit(schedule)(jnp.arange(step, step + count))],
        "updates": updates,
    }


results = {}
for checkpoint in map(Path, sys.argv[2:]):
    state = json.loads((checkpoint / "state.json").read_text())
    config_file = checkpoint / "config.yaml"
    safe = load_schedule(config_file, key="scheduler", decay_steps=state["decay_steps"])
    node = OmegaConf.load(config_file).scheduler
    if state["decay_steps"] is not None:
        node.decay_steps = state["decay_steps"]
    trusted = build_lr_scheduler(node)
    results[checkpoint.name] = {
        "safe_load": continue_run(safe, state["step"], int(sys.argv[1])),
        "build_lr_scheduler": continue_run(trusted, state["step"], int(sys.argv[1])),
    }
json.dump(results, sys.stdout)
"""

RUNS = {
    "wsd-length-in-the-config": {
        "overrides": [
            "+scheduler=wsd",
            "scheduler.lr=3e-4",
            "scheduler.warmup_fraction=0.05",
            "scheduler.decay_steps=${trainer.max_steps}",
        ],
        "runtime_length": None,
        "resume_at": 790,  # the cooldown starts at 800; the run ends at 1000
    },
    "cosine-length-at-runtime": {
        "overrides": [
            "+scheduler=cosine",
            "scheduler.lr=1e-3",
            "scheduler.warmup_steps=20",
            "scheduler.cooldown_steps=50",
            "scheduler.end_lr_factor=0.1",
            "scheduler.cooldown_shape=sqrt",
        ],
        "runtime_length": 450,
        "resume_at": 333,
    },
}


def train_and_checkpoint(run, directory):
    """Train up to the resume step, save the checkpoint, then train on past the end."""
    with initialize(version_base="1.3"):
        cfg = compose(overrides=["+trainer.max_steps=1000", *run["overrides"]])
    length = run["runtime_length"]
    schedule = instantiate(cfg.scheduler, **({} if length is None else {"decay_steps": length}))
    optimizer = optax.scale_by_schedule(schedule)
    state = optimizer.init(jnp.zeros(()))
    update = jax.jit(optimizer.update)
    updates = []
    resume_at = run["resume_at"]
    for step in range(resume_at + RESUMED_STEPS):
        if step == resume_at:
            directory.mkdir()
            (directory / "config.yaml").write_text(OmegaConf.to_yaml(cfg))
            state_json = {"step": step, "decay_steps": length}
            (directory / "state.json").write_text(json.dumps(state_json))
        scaled, state = update(jnp.ones(()), state)
        updates.append(float(scaled))
    steps = range(resume_at, resume_at + RESUMED_STEPS)
    fields = OmegaConf.to_container(cfg.scheduler, resolve=True)
    # The fields of schedule-semantics.md: these runs leave the composable ones at defaults.
    fields = {k: v for k, v in fields.items() if k in inspect.signature(reference_lr).parameters}
    fields["decay_steps"] = length or fields["decay_steps"]
    return {
        "host": [schedule(s) for s in steps],
        "jit": [float(v) for v in jax.jit(schedule)(jnp.arange(steps.start, steps.stop))],
        "updates": updates[resume_at:],
        "reference": [reference_lr(s, **fields) for s in steps],
        "fields": fields,
    }


@pytest.fixture(scope="module")
def resumed(tmp_path_factory):
    """Each run's own values from the resume step on, and what a fresh process rebuilt."""
    root = tmp_path_factory.mktemp("resume")
    continued = {name: train_and_checkpoint(run, root / name) for name, run in RUNS.items()}
    (root / "resume.py").write_text(textwrap.dedent(RESUME))
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run(
        [sys.executable, "resume.py", str(RESUMED_STEPS), *(str(root / name) for name in RUNS)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return continued, json.loads(proc.stdout)


@pytest.mark.parametrize("rebuilt_by", ["safe_load", "build_lr_scheduler"])
@pytest.mark.parametrize("run", RUNS)
def test_a_fresh_process_continues_with_identical_values(resumed, run, rebuilt_by):
    continued, rebuilt = resumed
    original, fresh = continued[run], rebuilt[run][rebuilt_by]
    assert fresh["host"] == original["host"]  # exact, on the host path
    for path in ("jit", "updates"):  # the same float32 computation, in another process
        np.testing.assert_array_max_ulp(
            np.array(fresh[path], dtype=np.float32),
            np.array(original[path], dtype=np.float32),
            maxulp=1,
        )
    steps = list(range(RUNS[run]["resume_at"], RUNS[run]["resume_at"] + RESUMED_STEPS))
    np.testing.assert_allclose(original["host"], original["reference"], rtol=1e-12, atol=1e-18)
    error = np.abs(np.array(fresh["updates"]) - np.array(original["reference"]))
    assert np.all(error <= float32_tolerance(original["fields"], steps))
