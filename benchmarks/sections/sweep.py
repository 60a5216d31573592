"""Section 5: compose + instantiate per job for a sweep through Hydra's compose API."""

from __future__ import annotations

import itertools
import statistics
import tempfile
import time
from pathlib import Path

import hydra
from hydra.utils import instantiate

from sections.common import END_LR_FACTOR


def sweep_overrides(jobs: int) -> list[list[str]]:
    """A grid of ``jobs`` configs: 4 schedules x 5 learning rates x 5 run lengths."""
    grid = itertools.product(
        ("cosine", "linear", "exponential", "constant"),
        (1e-4, 3e-4, 1e-3, 3e-3, 1e-2),
        (1_000, 2_000, 5_000, 10_000, 20_000),
    )
    return [
        [
            f"scheduler={name}",
            f"scheduler.lr={lr}",
            f"scheduler.decay_steps={decay_steps}",
            f"scheduler.warmup_steps={decay_steps // 100}",
            f"scheduler.end_lr_factor={END_LR_FACTOR}",
        ]
        for name, lr, decay_steps in itertools.islice(grid, jobs)
    ]


def bench_sweep(jobs: int) -> dict[str, float]:
    """Per job of a sweep through Hydra's compose API: compose, then instantiate the schedule.

    Each job also composes an empty config in the same app, the floor that Hydra itself
    costs, so the scheduler group's share can be read off.
    """
    compose_ms, instantiate_ms, bare_ms = [], [], []
    with tempfile.TemporaryDirectory() as config_dir:
        Path(config_dir, "config.yaml").write_text("defaults:\n  - scheduler: cosine\n  - _self_\n")
        Path(config_dir, "bare.yaml").write_text("{}\n")
        with hydra.initialize_config_dir(config_dir=config_dir, version_base=None):
            for overrides in sweep_overrides(jobs):
                start = time.perf_counter()
                hydra.compose(config_name="bare")
                bare = time.perf_counter()
                config = hydra.compose(config_name="config", overrides=overrides)
                composed = time.perf_counter()
                instantiate(config.scheduler)
                done = time.perf_counter()
                bare_ms.append((bare - start) * 1e3)
                compose_ms.append((composed - bare) * 1e3)
                instantiate_ms.append((done - composed) * 1e3)
    return {
        "jobs": jobs,
        "compose_ms_median": statistics.median(compose_ms),
        "instantiate_ms_median": statistics.median(instantiate_ms),
        "ms_per_job": (sum(compose_ms) + sum(instantiate_ms)) / jobs,
        "bare_compose_ms_median": statistics.median(bare_ms),
    }
