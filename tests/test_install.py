"""A wheel install and an editable install, each in a fresh virtualenv, make the group visible.

Setuptools' default editable mode hides a ``hydra_plugins`` namespace package from Hydra's
scanner; hatchling's (a ``.pth`` path entry) does not. Both installs are proven here. The
fresh venv holds only this package; its dependencies are borrowed from the running
environment through a ``.pth`` line, which keeps the test fast and offline-safe.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

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


def fresh_venv(root: Path) -> Path:
    venv.EnvBuilder(with_pip=False).create(root)
    python = root / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(purelib, "borrowed_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def pip_install(python: Path, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )


def probe(python: Path, cwd: Path) -> list[str]:
    proc = subprocess.run(
        [python, "-c", PROBE], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


@pytest.mark.slow
def test_wheel_install_in_a_fresh_venv(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", tmp_path / "dist", REPO],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    (wheel,) = (tmp_path / "dist").glob("hydra_optax_schedules-*.whl")
    python = fresh_venv(tmp_path / "venv")
    pip_install(python, str(wheel))
    location, values = probe(python, tmp_path)
    assert location.startswith(str(tmp_path / "venv"))
    assert values == "[1.0, 0.5, 0.0]"


@pytest.mark.slow
def test_editable_install_in_a_fresh_venv(tmp_path):
    python = fresh_venv(tmp_path / "venv")
    pip_install(python, "-e", str(REPO))
    location, values = probe(python, tmp_path)
    assert location.startswith(str(REPO / "src"))
    assert values == "[1.0, 0.5, 0.0]"
