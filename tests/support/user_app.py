"""A user's own Hydra app that knows nothing of this package but its ``scheduler`` group,
written into a temp dir outside the checkout (the ``user_app`` fixture of ``tests/conftest.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

USER_APP = """
import json
import sys
import warnings

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import OmegaConf


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg):
    heavy_before = sorted(m for m in ("jax", "optax") if m in sys.modules)
    kwargs = {} if cfg.runtime_steps is None else {"decay_steps": cfg.runtime_steps}
    with warnings.catch_warnings(record=True) as caught:  # this job's own, each one shown
        warnings.simplefilter("always")
        if cfg.get("run_steps") is not None:  # the run length, as examples/train.py gives it
            kwargs["run_steps"] = cfg.run_steps
        schedule = instantiate(cfg.scheduler, **kwargs)
        if cfg.scheduler.get("_partial_"):
            schedule = schedule(decay_steps=cfg.trainer.max_steps)
    for w in caught:
        warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    result = {
        "scheduler": OmegaConf.to_container(cfg.scheduler, resolve=True),
        "values": [schedule(step) for step in range(cfg.probe_steps)],
        "heavy_modules_before_instantiate": heavy_before,
        "warnings": [f"{w.category.__name__}: {w.message}" for w in caught],
    }
    out = HydraConfig.get().runtime.output_dir
    with open(f"{out}/values.json", "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
"""

USER_CONFIG = """
defaults:
  - scheduler: cosine
  - _self_

trainer:
  max_steps: 100
scheduler:
  lr: 0.001
  decay_steps: ${trainer.max_steps}
runtime_steps: null
run_steps: null
probe_steps: 120
"""


class UserApp:
    """A Hydra app that knows nothing of this package but its ``scheduler`` group."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "conf").mkdir(parents=True)
        (root / "app.py").write_text(USER_APP)
        (root / "conf" / "config.yaml").write_text(USER_CONFIG)

    def run(self, *overrides: str, check: bool = True) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HYDRA_")}
        env["JAX_PLATFORMS"] = "cpu"
        args = [sys.executable, "app.py", *overrides]
        if "--help" not in overrides and "--cfg" not in overrides:
            args += [f"hydra.run.dir={self.root}/run", f"hydra.sweep.dir={self.root}/sweep"]
        proc = subprocess.run(
            args, cwd=self.root, env=env, capture_output=True, text=True, timeout=300
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"app failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    def result(self, job_dir: str = "run") -> dict:
        return json.loads((self.root / job_dir / "values.json").read_text())

    def write(self, relative: str, text: str) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
