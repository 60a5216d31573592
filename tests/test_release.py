"""The release: ``python -m build`` makes an sdist and a wheel that ``twine check`` accepts, both
with the LICENSE, and the sdist, unpacked in a temp dir, runs the README's first two commands
as written: a fresh ``.venv``, the package installed with its dependencies from the index, the
viewer, and the fast tests (the one substitution: ``pytest -m "not slow"
--hypothesis-profile=quick``, since the slow tests include this one, and the property tests'
search is the main suite's job: here they run 20 examples each).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from markdown_blocks import read_blocks
from test_docs import commands, creates_a_venv
from venvs import REPO, build_release

pytestmark = pytest.mark.full


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return build_release(tmp_path_factory.mktemp("dist"))


def test_twine_accepts_the_sdist_and_the_wheel(release):
    proc = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *release],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("PASSED") == 2


def test_the_sdist_and_the_wheel_hold_the_mit_license(release):
    sdist, wheel = release
    license_text = (REPO / "LICENSE").read_text()
    assert license_text.startswith("MIT License\n\nCopyright (c) 2026 The hydra-optax-schedules")
    root = sdist.name.removesuffix(".tar.gz")
    with tarfile.open(sdist) as tar:
        member = tar.extractfile(f"{root}/LICENSE")
        assert member is not None
        assert member.read().decode() == license_text
    dist_info = wheel.name.split("-py3")[0] + ".dist-info"
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read(f"{dist_info}/licenses/LICENSE").decode() == license_text
        assert "License-Expression: MIT" in archive.read(f"{dist_info}/METADATA").decode()


def test_the_unpacked_sdist_runs_the_readme_commands(release, tmp_path):
    sdist, _ = release
    with tarfile.open(sdist) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(tmp_path, filter="data")
        else:
            tar.extractall(tmp_path)
    root = tmp_path / sdist.name.removesuffix(".tar.gz")
    fresh = [block for block in read_blocks(root / "README.md") if creates_a_venv(block)]
    assert len(fresh) == 2
    # Not CI's Slurm cluster (CI, SLURM_CONF): the main suite runs the Slurm tests, once; here
    # they skip, as on a laptop without Slurm.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HYDRA_", "VIRTUAL_ENV", "SLURM_")) and k != "CI"
    }
    env["JAX_PLATFORMS"] = "cpu"
    for block in fresh:
        for command in commands(block.text):
            command = command.replace(
                ".venv/bin/pytest", '.venv/bin/pytest -m "not slow" --hypothesis-profile=quick'
            )
            proc = subprocess.run(
                ["bash", "-c", command],
                cwd=root,
                env=env,
                capture_output=True,
                text=True,
                timeout=3600,
            )
            assert proc.returncode == 0, (
                f"{block.id} failed: {command}\n{proc.stdout[-5000:]}\n{proc.stderr[-3000:]}"
            )
    assert (root / ".venv" / "bin" / "lrview").exists()
    assert " passed" in proc.stdout and " failed" not in proc.stdout
