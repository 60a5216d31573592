"""The viewer's phase table: each row is a piece of the schedule within the run, from the value
at its first step to the value it reaches at its end along its own curve.

Where a piece ends in a jump (a restart, a milestone, a stage that starts elsewhere), the value
at its end step is the next piece's; the row shows the value the piece itself ends at. A piece
the run stops in ends at the run's last value; a phase that starts at the run's last step is
no row (no update of the run is in it: an empty ``main [2000, 2000]``); a run past the
schedule's end ends with a ``hold`` row of the value held.

Every expected row is worked out here from the spec (composable-schedules.md, the README's
semantics) with ``lr = 1``, so the numbers are exact or closed forms.
"""

from __future__ import annotations

import math

import pytest

from hydra_optax_schedules import build_lr_scheduler
from hydra_optax_schedules.viewer import preview
from hydra_optax_schedules.viewer.summary import format_summary


def phase_table(steps: int, **config) -> list[tuple[str, int, int, float, float]]:
    """The rows the viewer prints for the schedule ``config`` over a run of ``steps``."""
    config.setdefault("lr", 1.0)
    config.setdefault("decay_steps", steps)
    _, [summary] = preview({"scheduler": build_lr_scheduler(config)}, steps)
    return [(r.name, r.first, r.end, r.start_value, r.end_value) for r in summary.phases]


def assert_rows(got, expected):
    assert [row[:3] for row in got] == [row[:3] for row in expected]
    for (name, *_, start, end), (_, *_, want_start, want_end) in zip(got, expected, strict=True):
        assert start == pytest.approx(want_start, rel=1e-12, abs=1e-15), name
        assert end == pytest.approx(want_end, rel=1e-12, abs=1e-15), name


# Cosine from p to 0, 100 of 250 steps in: p * (1 + cos(0.4 pi)) / 2, cos(0.4 pi) = (sqrt5 - 1) / 4.
COS_100_OF_250 = (3 + math.sqrt(5)) / 8

CASES = {
    # Plain families: every piece ends where the next begins, and the run's end is theirs.
    "cosine, warmup and cooldown": (
        1000,
        dict(name="cosine", warmup_steps=100, cooldown_steps=200, end_lr_factor=0.1),
        [
            ("warmup", 0, 100, 0.0, 1.0),
            ("main", 100, 800, 1.0, 0.1),
            ("cooldown", 800, 1000, 0.1, 0.0),
        ],
    ),
    "exponential that ends before the run": (
        300,
        dict(name="exponential", decay_steps=200, end_lr=0.01),
        [("main", 0, 200, 1.0, 0.01), ("hold", 200, 300, 0.01, 0.01)],
    ),
    "wsd: 1-sqrt cooldown over the last 20%": (
        1000,
        dict(name="wsd", warmup_steps=100),
        [
            ("warmup", 0, 100, 0.0, 1.0),
            ("main", 100, 800, 1.0, 1.0),
            ("cooldown", 800, 1000, 1.0, 0.0),
        ],
    ),
    "inverse sqrt: sqrt(tau / (tau + t))": (
        300,
        dict(name="inverse_sqrt", timescale=100.0),
        [("main", 0, 300, 1.0, 0.5)],
    ),
    "linear, the run stops a quarter in": (
        250,
        dict(name="linear", decay_steps=1000),
        [("main", 0, 250, 1.0, 0.75)],
    ),
    # Restarts: every cycle ends at E; the next one starts at its own peak.
    "cosine cycles, peaks halving": (
        1000,
        dict(name="cosine", cycles=4, cycle_decay=0.5),
        [
            ("cycle 0", 0, 250, 1.0, 0.0),
            ("cycle 1", 250, 500, 0.5, 0.0),
            ("cycle 2", 500, 750, 0.25, 0.0),
            ("cycle 3", 750, 1000, 0.125, 0.0),
        ],
    ),
    # M = 700, S = 0, 1, 3, 7: cycles start at 100 + 700 * S_i / 7 = 100, 200, 400 (end 800);
    # E = 0.1, peaks 1, 0.5, 0.25, each later cycle re-warmed over 10 steps from E.
    "linear cycles, doubling, re-warmed, after a warmup": (
        800,
        dict(
            name="linear",
            warmup_steps=100,
            cycles=3,
            cycle_mult=2.0,
            cycle_decay=0.5,
            rewarmup_steps=10,
            end_lr_factor=0.1,
        ),
        [
            ("warmup", 0, 100, 0.0, 1.0),
            ("cycle 0", 100, 200, 1.0, 0.1),
            ("rewarmup 1", 200, 210, 0.1, 0.5),
            ("cycle 1", 210, 400, 0.5, 0.1),
            ("rewarmup 2", 400, 410, 0.1, 0.25),
            ("cycle 2", 410, 800, 0.25, 0.1),
        ],
    ),
    # R_1 = floor(0.1 * 500 + 1/2) = 50.
    "exponential cycles, re-warmed over a fraction": (
        1000,
        dict(name="exponential", end_lr=0.01, cycles=2, rewarmup_fraction=0.1),
        [
            ("cycle 0", 0, 500, 1.0, 0.01),
            ("rewarmup 1", 500, 550, 0.01, 1.0),
            ("cycle 1", 550, 1000, 1.0, 0.01),
        ],
    ),
    "polynomial cycles": (
        1000,
        dict(name="polynomial", power=2.0, cycles=2, cycle_decay=0.5, end_lr=0.25),
        [("cycle 0", 0, 500, 1.0, 0.25), ("cycle 1", 500, 1000, 0.5, 0.25)],
    ),
    "cosine cycles, the run stops 100 steps into the third": (
        600,
        dict(name="cosine", decay_steps=1000, cycles=4, cycle_decay=0.5),
        [
            ("cycle 0", 0, 250, 1.0, 0.0),
            ("cycle 1", 250, 500, 0.5, 0.0),
            ("cycle 2", 500, 600, 0.25, 0.25 * COS_100_OF_250),
        ],
    ),
    # Step decay: each piece is constant to its end.
    "multistep at absolute steps": (
        1000,
        dict(name="multistep", milestones=[300, 600], decay_factor=0.5),
        [
            ("main", 0, 300, 1.0, 1.0),
            ("milestone 1", 300, 600, 0.5, 0.5),
            ("milestone 2", 600, 1000, 0.25, 0.25),
        ],
    ),
    # Fractions of D = 1000: 250, 500; the cooldown starts from the last value.
    "multistep at fractions, warmup and cooldown": (
        1000,
        dict(
            name="multistep",
            milestone_fractions=[0.25, 0.5],
            decay_factor=0.5,
            warmup_steps=100,
            cooldown_steps=200,
        ),
        [
            ("warmup", 0, 100, 0.0, 1.0),
            ("main", 100, 250, 1.0, 1.0),
            ("milestone 1", 250, 500, 0.5, 0.5),
            ("milestone 2", 500, 800, 0.25, 0.25),
            ("cooldown", 800, 1000, 0.25, 0.0),
        ],
    ),
    # Stages: a cosine to 0.1, a jump to a constant 0.5, a jump to a line from 1 to 0.
    "stages that jump": (
        1000,
        dict(
            name="stages",
            stages=[
                {"steps": 300, "shape": "cosine", "end": 0.1},
                {"steps": 200, "shape": "constant", "start": 0.5},
                {"shape": "linear", "start": 1.0, "end": 0.0},
            ],
        ),
        [
            ("stage 0", 0, 300, 1.0, 0.1),
            ("stage 1", 300, 500, 0.5, 0.5),
            ("stage 2", 500, 1000, 1.0, 0.0),
        ],
    ),
    # Half of a 1-sqrt stage from 1 to 0 (fractions of D = 400: 100 steps, then 200).
    "stages, the run stops in a 1-sqrt stage": (
        200,
        dict(
            name="stages",
            decay_steps=400,
            stages=[
                {"fraction": 0.25, "shape": "exponential", "end": 0.25},
                {"fraction": 0.5, "shape": "sqrt", "start": 1.0, "end": 0.0},
                {"shape": "constant", "start": 0.5},
            ],
        ),
        [
            ("stage 0", 0, 100, 1.0, 0.25),
            ("stage 1", 100, 200, 1.0, 1 - math.sqrt(0.5)),
        ],
    ),
    "cosine whose main phase starts at the run's last step: not listed": (
        2000,
        dict(name="cosine", decay_steps=4000, warmup_steps=2000),
        [("warmup", 0, 2000, 0.0, 1.0)],
    ),
    "stages, the next stage starts at the run's last step: not listed": (
        300,
        dict(
            name="stages",
            decay_steps=1000,
            stages=[
                {"steps": 300, "shape": "cosine", "end": 0.1},
                {"shape": "constant", "start": 0.5},
            ],
        ),
        [("stage 0", 0, 300, 1.0, 0.1)],
    ),
    # Branched cooldowns: from the value at S = 120 (1 - 120 / 400 = 0.7) to 0 over 40 steps.
    "linear cooled down from step 120": (
        400,
        dict(name="linear", cooldown_start=120, cooldown_steps=40),
        [
            ("main", 0, 120, 1.0, 0.7),
            ("cooldown", 120, 160, 0.7, 0.0),
            ("hold", 160, 400, 0.0, 0.0),
        ],
    ),
    # S = 350 > D = 300: E = 0.5 holds until S, then the cooldown to 0.
    "linear cooled down after its end": (
        500,
        dict(
            name="linear",
            decay_steps=300,
            end_lr_factor=0.5,
            cooldown_start=350,
            cooldown_steps=50,
        ),
        [
            ("main", 0, 300, 1.0, 0.5),
            ("hold", 300, 350, 0.5, 0.5),
            ("cooldown", 350, 400, 0.5, 0.0),
            ("hold", 400, 500, 0.0, 0.0),
        ],
    ),
}


@pytest.mark.parametrize(("steps", "config", "expected"), CASES.values(), ids=CASES.keys())
def test_each_row_runs_from_its_first_value_to_the_value_it_ends_at(steps, config, expected):
    assert_rows(phase_table(steps, **config), expected)


@pytest.mark.parametrize("steps", [10**8, 2**63 - 1])
def test_a_long_run_ends_each_piece_where_its_own_curve_ends(steps):
    """A sampled run reads the same values: every piece starts at its peak and ends at E."""
    starts = [(steps * i + 2) // 4 for i in range(4)]  # floor(steps * i / 4 + 1/2)
    got = phase_table(steps, name="linear", cycles=4, cycle_decay=0.5, end_lr_factor=0.1)

    expected = [
        (f"cycle {i}", start, end, 0.5**i, 0.1)
        for i, (start, end) in enumerate(zip(starts, [*starts[1:], steps], strict=True))
    ]
    assert_rows(got, expected)


@pytest.mark.parametrize(("cycles", "listed"), [(16, 16), (17, 13), (1000, 13)])
def test_the_printed_table_lists_at_most_16_phases(cycles, listed):
    config = {"lr": 1.0, "name": "cosine", "decay_steps": 10**6, "cycles": cycles}
    _, [summary] = preview({"scheduler": build_lr_scheduler(config)}, 10**6)
    assert len(summary.phases) == cycles  # every phase is summarized; the text lists some
    lines = format_summary([summary], [])
    rows = [line for line in lines.splitlines() if line.startswith("cycle ")]
    assert len(rows) == min(cycles, 12 if cycles > 16 else cycles)
    if cycles > 16:
        assert rows[7].startswith("cycle 7 ") and rows[8].startswith(f"cycle {cycles - 4} ")
        first, last = summary.phases[8].first, summary.phases[-4].first
        assert f"... ({cycles - 12} phases, [{first}, {last}))" in lines
    assert len(lines.splitlines()) == 7 + listed
