"""Every command and snippet in README.md and docs/*.md runs, as a user would run it.

All blocks share one project directory in a temp dir: a copy of the clone's ``examples/`` and
``conf/``, plus every file block of the docs (the Quick start's ``conf/config.yaml`` and
``train.py``, ...), written before anything runs. The blocks then run in document order
(README first), against the installed package (``markdown_blocks.py`` says how a block is
classified):

- ``bash``: each command, in ``bash``, with the test's venv activated (``.venv`` in the
  project links to it, so ``source .venv/bin/activate`` works too);
- ``python``: a script, which may use ``cfg`` (the Quick start's config, composed),
  ``num_steps`` (its ``steps``, the run length) and ``instantiate`` without defining them;
  ``checkpoint/config.yaml`` holds ``cfg`` as a run saves it;
- ``yaml`` that is not a file: a primary config, composed with Hydra;
- an excerpt: its keys and values must be in the repository's file;
- an output block marked with the command it shows: it must be in that command's output, run
  in a project of its own that holds only its document's files (what a reader of that
  document has: the README's ``--help`` lists no option that another doc adds).

The only differences from what a user runs (``as_run_here``, ``pip_check.py``):

- ``pip`` is ``pip_check.py``: ``pip install`` checks that the package and the extras named
  are installed, instead of installing into the test environment;
- ``python examples/train.py`` trains a tiny run (``TINY_RUN`` appended);
- an Optuna sweep (``hydra/sweeper=lr_search``) runs ``OPTUNA_TRIALS`` trials;
- ``JAX_PLATFORMS=cpu``, and no ``HYDRA_*`` variable from the caller's environment.

The default lane runs the cheap blocks; a block that runs a sweep (``-m``) or more than
``MAX_CHEAP_COMMANDS`` commands is marked ``full``, for the full lane (CI) (``costly``).

The blocks that create a venv (the README's first two commands) install from the index:
``test_release.py`` runs them, in an unpacked sdist, with the test command collecting only.
"""

from __future__ import annotations

import ast
import dataclasses
import os
import re
import shutil
import stat
import subprocess
import sys
import typing
from pathlib import Path

import pytest
import yaml

from hydra_optax_schedules import SchedulerConfig, StageConfig

from support.markdown_blocks import OUTPUT, Block, read_blocks

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
PIP_CHECK = Path(__file__).resolve().parents[1] / "support" / "pip_check.py"

TINY_RUN = "steps=100 progress=false data.size=256 model.hidden=16"
OPTUNA_TRIALS = 2
#: Blocks marked ``skip``: keep them few, each with its reason in the docs.
MAX_SKIPPED = 6
#: A bash block with more commands than this runs in the full lane only (``costly``).
MAX_CHEAP_COMMANDS = 3

PRELUDE = """\
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import OmegaConf

with initialize_config_dir(version_base="1.3", config_dir=str(Path("conf").resolve())):
    cfg = compose(config_name="config")
Path("checkpoint").mkdir(exist_ok=True)
OmegaConf.save(cfg, "checkpoint/config.yaml")
num_steps = cfg.get("steps", 1000)  # the run length the app counts
snippet = {"cfg": cfg, "num_steps": num_steps, "instantiate": instantiate, "__name__": "__main__"}
exec(compile(Path(%r).read_text(), %r, "exec"), snippet)
"""

COMPOSE = """\
from pathlib import Path

from hydra import compose, initialize_config_dir

with initialize_config_dir(version_base="1.3", config_dir=str(Path("conf").resolve())):
    compose(config_name=%r, return_hydra_config=True)
"""


def creates_a_venv(block: Block) -> bool:
    return block.language == "bash" and "python3 -m venv" in block.text


def runs_here(block: Block) -> bool:
    return not (
        block.file
        or block.skip_reason
        or (block.language in OUTPUT and not block.output_of)
        or creates_a_venv(block)
    )


def commands(text: str) -> list[str]:
    """The commands of a bash block: continued lines joined, blank and comment lines dropped."""
    joined = re.sub(r"\\\n\s*", "", text)
    return [line for line in joined.splitlines() if line.strip() and not line.startswith("#")]


def costly(block: Block) -> bool:
    """A block that runs a sweep (``-m``: launchers, Optuna, several jobs) or more than
    ``MAX_CHEAP_COMMANDS`` commands: the full lane (CI) runs it, the default lane does not."""
    if block.language != "bash" or block.output_of:
        return block.language in OUTPUT and " -m " in f"{block.output_of} "
    runs = commands(block.text)
    return len(runs) > MAX_CHEAP_COMMANDS or any(
        re.search(r"\s(-m|--multirun)(\s|$)", command) for command in runs
    )


def full_lane(block: Block) -> bool:
    """The README's cheap blocks run in the default lane; a costly block, or one of
    ``docs/*.md`` (each a minute's worth of Hydra apps in subprocesses), in the full lane."""
    return costly(block) or not block.id.startswith("README.md:")


BLOCKS = [block for doc in DOCS for block in read_blocks(doc)]
RUN_HERE = [block for block in BLOCKS if runs_here(block)]
RUN_HERE_PARAMS = [
    pytest.param(block, id=block.id, marks=[pytest.mark.full] if full_lane(block) else [])
    for block in RUN_HERE
]


def as_run_here(command: str) -> str:
    """``command`` with the test's documented substitutions (the module docstring)."""
    if command.startswith("python examples/train.py"):
        command = f"{command} {TINY_RUN}"
    if "hydra/sweeper=lr_search" in command:
        command = re.sub(r" hydra\.sweeper\.n_trials=\d+", "", command)
        command = f"{command} hydra.sweeper.n_trials={OPTUNA_TRIALS}"
    return command


def environment(project: Path) -> dict[str, str]:
    """The caller's environment, with the test's venv activated and ``pip`` checking only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYDRA_")}
    venv_bin = Path(sys.executable).parent
    env["PATH"] = os.pathsep.join([str(project / ".docs-test-bin"), str(venv_bin), env["PATH"]])
    env["VIRTUAL_ENV"] = sys.prefix
    env["JAX_PLATFORMS"] = "cpu"
    return env


def run(project: Path, args: list[str], block: Block) -> str:
    """Run ``args`` in ``project`` for ``block``; its standard output."""
    proc = subprocess.run(
        args, cwd=project, env=environment(project), capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, (
        f"{block.id} failed ({proc.returncode}): {args[-1]}\n{proc.stdout[-3000:]}\n"
        f"{proc.stderr[-3000:]}"
    )
    return proc.stdout


def make_project(root: Path, blocks: list[Block]) -> Path:
    """A project directory at ``root``: the clone's examples and configs, and the files of
    ``blocks``."""
    for part in ("examples", "conf"):
        shutil.copytree(REPO / part, root / part)
    (root / ".venv").symlink_to(sys.prefix, target_is_directory=True)
    pip = root / ".docs-test-bin" / "pip"
    pip.parent.mkdir()
    pip.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{PIP_CHECK}" "$@"\n')
    pip.chmod(pip.stat().st_mode | stat.S_IXUSR)
    for block in blocks:
        if block.file:
            path = root / block.file
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(block.text)
    return root


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared project directory: the clone's examples and configs, and the docs' files."""
    assert sys.prefix != sys.base_prefix, "the docs test runs in a venv, as the docs do"
    return make_project(tmp_path_factory.mktemp("docs") / "project", BLOCKS)


def is_subset(part: object, whole: object) -> bool:
    if isinstance(part, dict):
        return isinstance(whole, dict) and all(
            key in whole and is_subset(value, whole[key]) for key, value in part.items()
        )
    return part == whole


def table_rows(doc: Path, header: str) -> list[list[str]]:
    """The rows of the table of ``doc`` whose header row is ``header``, as cells (``\\|`` in a
    cell is a ``|``, as in GitHub's tables)."""
    lines = doc.read_text().splitlines()
    assert header in lines, f"{doc.name} has no table {header!r}"
    rows = []
    for line in lines[lines.index(header) + 2 :]:
        if not line.startswith("|"):
            break
        cells = re.split(r"(?<!\\)\|", line.strip().strip("|"))
        rows.append([cell.strip().replace("\\|", "|") for cell in cells])
    return rows


@pytest.mark.parametrize(
    ("header", "config_class"),
    [
        ("| field | type | default | meaning |", SchedulerConfig),
        ("| stage field | type | default | meaning |", StageConfig),
    ],
    ids=["SchedulerConfig", "StageConfig"],
)
def test_the_python_api_lists_every_field_with_its_type_and_default(header, config_class):
    """The tables of python-api.md are the dataclass's fields, in order, so they cannot drift."""

    def default(value: object) -> tuple[object, type]:
        return (value, type(value))

    documented = [
        (
            name.strip("`"),
            kind.strip("`"),
            shown if shown == "required" else default(ast.literal_eval(shown.strip("`"))),
        )
        for name, kind, shown, _meaning in table_rows(REPO / "docs" / "python-api.md", header)
    ]
    # A field's "type" in its metadata is what it reads (cooldown_start: int or "resume"),
    # where the annotation is Any for OmegaConf 2.3.
    expected = [
        (
            f.name,
            str(f.type) if "type" not in f.metadata else _shown(f.metadata["type"]),
            "required" if f.default is dataclasses.MISSING else default(f.default),
        )
        for f in dataclasses.fields(config_class)
    ]
    assert documented == expected


def _shown(kind: object) -> str:
    """A union as an annotation reads: ``int | Literal['resume'] | None``."""
    names = {int: "int", float: "float", str: "str", type(None): "None"}
    args = typing.get_args(kind)
    return " | ".join(names.get(arg, str(arg).replace("typing.", "")) for arg in args)


def test_blocks_are_few_to_skip_and_each_says_why():
    skipped = [block for block in BLOCKS if block.skip_reason]
    assert len(skipped) <= MAX_SKIPPED, [block.id for block in skipped]
    assert all(block.skip_reason.strip() for block in skipped)


def test_the_readme_starts_with_the_commands_that_create_the_venv():
    readme = [block for block in BLOCKS if block.doc.name == "README.md" and runs_here(block)]
    fresh = [block for block in BLOCKS if creates_a_venv(block)]
    assert [block.doc.name for block in fresh] == ["README.md", "README.md"]
    assert all(block.line < readme[0].line for block in fresh)


@pytest.mark.parametrize("block", RUN_HERE_PARAMS)
def test_block_runs(project: Path, block: Block, tmp_path: Path):
    if block.excerpt_of:
        assert block.language == "yaml", f"{block.id}: only a yaml block can be an excerpt"
        shown = yaml.safe_load(block.text)
        whole = yaml.safe_load((REPO / block.excerpt_of).read_text())
        assert is_subset(shown, whole), f"{block.id} is not an excerpt of {block.excerpt_of}"
    elif block.output_of:
        assert block.language in OUTPUT, f"{block.id}: only an output block can be an output"
        own_files = [other for other in BLOCKS if other.doc == block.doc]
        where = make_project(tmp_path / "project", own_files)
        printed = run(where, ["bash", "-c", as_run_here(block.output_of)], block)
        assert f"\n{block.text}" in f"\n{printed}", (
            f"{block.id} is not in the output of {block.output_of}:\n{printed[-3000:]}"
        )
    elif block.language == "bash":
        for command in commands(block.text):
            run(project, ["bash", "-c", as_run_here(command)], block)
    elif block.language == "python":
        script = project / ".docs-test-snippet.py"
        script.write_text(block.text)
        run(project, [sys.executable, "-c", PRELUDE % (str(script), block.id)], block)
    else:
        name = f"docs_test_{block.doc.stem}_{block.line}".replace("-", "_")
        (project / "conf" / f"{name}.yaml").write_text(block.text)
        run(project, [sys.executable, "-c", COMPOSE % name], block)
