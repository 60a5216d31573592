"""A wheel install and an editable install, each in a fresh virtualenv, make the group visible.

Setuptools' default editable mode hides a ``hydra_plugins`` namespace package from Hydra's
scanner; hatchling's (a ``.pth`` path entry) does not. Both installs are proven here, each in
a venv from ``venvs.py``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from support.venvs import REPO, build_wheel, fresh_venv, pip_install

# The full lane (CI): fresh virtualenvs, installed from the index.
pytestmark = pytest.mark.full

PROBE = """
import sys
import hydra_optax_schedules
from hydra import compose, initialize
from hydra.utils import instantiate

with initialize(version_base="1.3"):
    cfg = compose(overrides=["+scheduler=cosine", "scheduler.lr=1.0", "scheduler.decay_steps=2"])
print(hydra_optax_schedules.__file__)
print([instantiate(cfg.scheduler)(s) for s in range(3)])
"""


def probe(python: Path, cwd: Path) -> list[str]:
    proc = subprocess.run(
        [python, "-c", PROBE], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def test_wheel_install_in_a_fresh_venv(tmp_path):
    wheel = build_wheel(tmp_path / "dist")
    python = fresh_venv(tmp_path / "venv")
    pip_install(python, str(wheel))
    location, values = probe(python, tmp_path)
    assert location.startswith(str(tmp_path / "venv"))
    assert values == "[1.0, 0.5, 0.0]"


def test_editable_install_in_a_fresh_venv(tmp_path):
    python = fresh_venv(tmp_path / "venv")
    pip_install(python, "-e", str(REPO))
    location, values = probe(python, tmp_path)
    assert location.startswith(str(REPO / "src"))
    assert values == "[1.0, 0.5, 0.0]"
