"""The tests that mutation testing runs (``[tool.mutmut]`` in ``pyproject.toml``) import no JAX.

mutmut forks one child per mutant from a process that has imported the selected test modules;
JAX's threads in that process would make the children hang (``docs/mutation.md``). The
selection runs here in a fresh interpreter, as mutmut runs it, and ``jax`` must not be in
``sys.modules`` after it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# The full lane (CI): it reruns the mutation selection in a fresh interpreter.
pytestmark = pytest.mark.full

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[2]

RUN = """
import sys

import pytest

code = pytest.main([*sys.argv[1:], "-q", "-p", "no:cacheprovider"])
print("jax imported:", sorted(m for m in ("jax", "jaxlib", "optax") if m in sys.modules))
sys.exit(code)
"""


def test_the_mutation_selection_passes_and_never_imports_jax():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    selection = config["pytest_add_cli_args_test_selection"]
    proc = subprocess.run(
        [sys.executable, "-c", RUN, *selection],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.stdout.splitlines()[-1] == "jax imported: []"
