"""The package's layout: small modules in layers, each importing only those below it.

The layers are import-linter contracts in pyproject.toml (``lint-imports``, also run by CI);
this test runs them, and checks what they do not: no module is over 500 lines, and no two
modules import each other, even through a function-level import.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "hydra_optax_schedules"
MAX_LINES = 500


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = ("hydra_optax_schedules", *path.relative_to(PACKAGE).with_suffix("").parts)
        found[".".join(parts).removesuffix(".__init__")] = path
    return found


@pytest.mark.parametrize("path", modules().values(), ids=list(modules()))
def test_no_module_is_over_500_lines(path):
    assert len(path.read_text().splitlines()) <= MAX_LINES


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package's modules that ``name`` imports, at any depth of its code."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            # ``from package import module`` imports the module; anything else, the package.
            names = [f"{base}.{alias.name}" for alias in node.names]
            candidates = [n for n in names if n in known]
            if len(candidates) < len(names):
                candidates.append(base)
        elif isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        else:
            continue
        found |= {c for c in candidates if c in known and c not in (name, "hydra_optax_schedules")}
    return found


def test_no_import_cycle():
    known = modules()
    edges = {name: imports_of(name, path, known) for name, path in known.items()}
    state: dict[str, int] = {}

    def visit(name: str, stack: list[str]) -> None:
        state[name] = 1
        for target in sorted(edges[name]):
            if state.get(target) == 1:
                cycle = [*stack[stack.index(target) :], target]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            elif target not in state:
                visit(target, [*stack, target])
        state[name] = 2

    for name in sorted(known):
        if name not in state:
            visit(name, [name])


def test_the_layer_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint), "--config", str(PACKAGE.parents[1] / "pyproject.toml")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


TESTS = Path(__file__).resolve().parents[1]
LAYERS = ("core", "jax", "hydra", "viewer", "integration")


@pytest.mark.parametrize("name", ["reference", "composed_reference"])
def test_the_references_never_import_the_package(name):
    """A reference that shared the package's code would share its bugs."""
    imported = set()
    for node in ast.walk(ast.parse((TESTS / "support" / f"{name}.py").read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add("." * node.level + (node.module or ""))
    assert not {
        m for m in imported if m.split(".")[0] in ("hydra_optax_schedules", "hydra_plugins")
    }
    assert {m for m in imported if m.startswith(".")} <= {".reference"}


def test_the_tests_are_laid_out_by_layer():
    """Every test file is in one layer's directory, under a name no other test file has."""
    files = sorted(TESTS.rglob("test_*.py"))
    assert {path.parent.name for path in files} == set(LAYERS)
    assert all(path.parent.parent == TESTS for path in files)
    names = [path.name for path in files]
    assert len(names) == len(set(names))
