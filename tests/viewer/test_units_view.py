"""The viewer of a run counted in tokens under a batch-size ramp (docs/units.md): its phases
start at the steps where the count reaches them, and its mean is the mean over the steps."""

from __future__ import annotations

import pytest

from hydra_optax_schedules import build_lr_scheduler
from hydra_optax_schedules.viewer import preview


def test_phases_start_at_the_step_the_count_reaches_and_the_mean_is_over_steps():
    # 8 tokens per step, 16 from token 40 on (step 5), 32 from token 100 on (step 9).
    units = {"unit": "tokens", "sequence_length": 4, "ramp": [[0, 2], [40, 4], [100, 8]]}
    units |= {"warmup": 60, "lr_scaling": "linear"}  # token 60: within step 6 (56 -> 72)
    schedule = build_lr_scheduler({"lr": 1.0, "name": "cosine", "units": units}, run_steps=40)
    _, [summary] = preview({"scheduler": schedule}, 40)
    assert [(row.name, row.first, row.end) for row in summary.phases] == [
        ("warmup", 0, 7),
        ("main", 7, 40),
    ]
    mean = sum(schedule(step) for step in range(40)) / 40
    assert summary.mean.value == pytest.approx(mean, rel=1e-9)
