"""Section 1: start-up of a bare ``@hydra.main`` app with the plugin installed vs hidden."""

from __future__ import annotations

import functools
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sections.common import interleaved

APP = """\
import sys

import hydra


@hydra.main(version_base=None, config_path=None, config_name=None)
def main(cfg):
    scanned = any(name.startswith("hydra_plugins.hydra_optax_schedules") for name in sys.modules)
    print("plugin=" + ("loaded" if scanned else "absent"))


if __name__ == "__main__":
    main()
"""

# Runs the app in both arms; only the ``hidden`` arm drops the plugin's directory from
# ``hydra_plugins.__path__``, so Hydra's scanner cannot find it. Everything else, the
# bootstrap's own cost included, is the same in both arms.
BOOTSTRAP = """\
import os, runpy, sys
import hydra_plugins
hide = sys.argv.pop(1) == "hidden"
hydra_plugins.__path__ = [
    path for path in hydra_plugins.__path__
    if not (hide and os.path.isdir(os.path.join(path, "hydra_optax_schedules")))
]
sys.argv = sys.argv[1:]  # the app's path, then Hydra's overrides
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def bench_startup(runs: int) -> dict[str, float]:
    """Median start-up of a bare Hydra app, plugin installed vs hidden, in ms.

    Besides wall time, the child's CPU time (user + sys) is kept: it is far less disturbed
    by other processes on a shared machine.
    """
    cpu: dict[str, list[float]] = {"installed": [], "hidden": []}
    with tempfile.TemporaryDirectory() as tmp:
        app = Path(tmp, "app.py")
        app.write_text(APP)
        # Bytecode cached as in any installed environment (an editable install run with
        # PYTHONDONTWRITEBYTECODE would recompile the package at every start), kept in tmp.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp, "pycache"))

        def start_app(arm: str) -> float:
            command = [sys.executable, "-c", BOOTSTRAP, arm, str(app), f"hydra.run.dir={tmp}/run"]
            cpu_before = children_cpu_seconds()
            start = time.perf_counter()
            done = subprocess.run(command, cwd=tmp, env=env, capture_output=True, text=True)
            elapsed = time.perf_counter() - start
            expected = "plugin=loaded" if arm == "installed" else "plugin=absent"
            if done.returncode != 0 or expected not in done.stdout:
                raise RuntimeError(f"the {arm} app failed:\n{done.stdout}{done.stderr}")
            cpu[arm].append((children_cpu_seconds() - cpu_before) * 1e3)
            return elapsed * 1e3

        for arm, cpu_times in cpu.items():
            start_app(arm)  # fills the bytecode cache: not timed
            cpu_times.clear()
        wall = interleaved({arm: functools.partial(start_app, arm) for arm in cpu}, runs)
    installed, hidden = statistics.median(wall["installed"]), statistics.median(wall["hidden"])
    return {
        "runs_per_arm": runs,
        "with_plugin_ms": installed,
        "without_plugin_ms": hidden,
        "overhead_ms": installed - hidden,
        "ratio": installed / hidden,
        "cpu_overhead_ms": statistics.median(cpu["installed"]) - statistics.median(cpu["hidden"]),
    }


def children_cpu_seconds() -> float:
    """User + system CPU time of this process's finished children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
