"""Fresh virtualenvs holding only this package, for the install tests.

The fresh venv gets this package alone; its dependencies are borrowed from the running
environment through a ``.pth`` line, which keeps the tests fast and offline-safe.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def build_wheel(directory: Path) -> Path:
    """Build this package's wheel into ``directory`` (a PEP 517 build, as pip does it)."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", directory, REPO],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    (wheel,) = directory.glob("hydra_optax_schedules-*.whl")
    return wheel


def build_release(directory: Path) -> tuple[Path, Path]:
    """``python -m build`` into ``directory``: the sdist, and the wheel built from it."""
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", directory, REPO],
        check=True,
        capture_output=True,
        text=True,
        timeout=900,
    )
    (sdist,) = directory.glob("hydra_optax_schedules-*.tar.gz")
    (wheel,) = directory.glob("hydra_optax_schedules-*.whl")
    return sdist, wheel


def fresh_venv(root: Path) -> Path:
    """A new venv at ``root`` that sees the running environment's packages; its python."""
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
    """``pip install --no-deps ARGS`` into the venv of ``python``."""
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
