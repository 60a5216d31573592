"""The release: ``python -m build`` makes an sdist and a wheel that ``twine check`` accepts, both
with the LICENSE; the sdist holds every tracked file of the paths it includes (and nothing
else), and, unpacked in a temp dir, runs the README's first two commands as written (a fresh
``.venv``, the package installed with its dependencies from the index, the viewer) with the one
substitution that its test command only collects: the sdist's suite must be the repository's,
test for test. The suite itself runs once, in the repository, not again in the sdist.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from test_docs import commands, creates_a_venv

from support.markdown_blocks import read_blocks
from support.venvs import REPO, build_release

# The full lane (CI): it builds the release and installs it from the index in a fresh venv.
pytestmark = pytest.mark.full

#: Files that hatch adds to the sdist beyond its ``include`` paths.
SDIST_EXTRA = {"PKG-INFO", "pyproject.toml", ".gitignore"}
#: Collect every test, whatever the lanes' marker expression in ``addopts``.
COLLECT = ["--collect-only", "-q", "-m", ""]


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return build_release(tmp_path_factory.mktemp("dist"))


def unpack(sdist: Path, where: Path) -> Path:
    with tarfile.open(sdist) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(where, filter="data")
        else:
            tar.extractall(where)
    return where / sdist.name.removesuffix(".tar.gz")


def collected(output: str) -> list[str]:
    """The test ids that ``pytest --collect-only -q`` printed."""
    return sorted(line for line in output.splitlines() if "::" in line)


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


def test_the_sdist_holds_every_tracked_file_of_its_include_paths(release):
    """``[tool.hatch.build.targets.sdist] include`` against ``git ls-files`` of the same paths:
    a file that git tracks but the sdist drops (or an untracked one it ships) fails here."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    include = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["hatch"]["build"][
        "targets"
    ]["sdist"]["include"]
    tracked = subprocess.run(
        ["git", "ls-files", "-z", "--", *(f":(glob){path}" for path in include)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    # A directory pattern ("src") matches its files, as in hatch's include.
    tracked += subprocess.run(
        ["git", "ls-files", "-z", "--", *(f":(glob){path}/**" for path in include)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    sdist, _ = release
    root = sdist.name.removesuffix(".tar.gz")
    with tarfile.open(sdist) as tar:
        shipped = {m.name.removeprefix(f"{root}/") for m in tar.getmembers() if m.isfile()}
    expected = {path for path in tracked if path and (REPO / path).is_file()} | SDIST_EXTRA
    assert sorted(expected - shipped) == [], "tracked but not in the sdist"
    assert sorted(shipped - expected) == [], "in the sdist but not tracked"


def test_the_unpacked_sdist_installs_and_collects_the_repositorys_tests(release, tmp_path):
    sdist, _ = release
    root = unpack(sdist, tmp_path)
    fresh = [block for block in read_blocks(root / "README.md") if creates_a_venv(block)]
    assert len(fresh) == 2
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HYDRA_", "VIRTUAL_ENV", "SLURM_")) and k != "CI"
    }
    env["JAX_PLATFORMS"] = "cpu"
    test_commands = 0
    for block in fresh:
        for command in commands(block.text):
            if ".venv/bin/pytest" in command:  # the one substitution: collect, as COLLECT
                test_commands += 1
                command = re.sub(
                    r"\.venv/bin/pytest[^&;|]*", ".venv/bin/pytest --collect-only -q -m ''", command
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
    assert test_commands == 1
    assert (root / ".venv" / "bin" / "lrview").exists()
    in_sdist = collected(proc.stdout)

    here = subprocess.run(
        [sys.executable, "-m", "pytest", *COLLECT],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert here.returncode == 0, here.stdout[-3000:] + here.stderr[-3000:]
    in_repo = collected(here.stdout)
    assert len(in_repo) > 1000
    assert in_sdist == in_repo
