"""The pieces of composed schedules: each piece's name, first step, end and values.

``Schedule.phases`` lists them (the viewer's summary shows them): a cycle and its rewarmup,
a milestone, a stage, a branched cooldown and the hold before it. Checked against values
written out from the spec (``composable-schedules.md``). This file imports no JAX, so that
mutation testing (``.ci/mutation``) runs it.
"""

from __future__ import annotations

import math

import pytest

from hydra_optax_schedules.piece import Piece, PieceKind

from support.composed_checks import build
from support.composed_reference import milestone_steps


def test_phases_list_each_rewarmup_and_cycle():
    schedule = build(
        {"name": "linear", "lr": 1.0, "decay_steps": 30, "cycles": 3, "rewarmup_steps": 2}
    )
    rows = [(p.name, p.start, p.end) for p in schedule.phases]
    assert rows == [
        ("cycle 0", 0, 10),
        ("rewarmup 1", 10, 12),
        ("cycle 1", 12, 20),
        ("rewarmup 2", 20, 22),
        ("cycle 2", 22, 30),
    ]


def test_phases_name_the_branch_and_the_hold_before_it():
    schedule = build(
        {"name": "linear", "lr": 1.0, "decay_steps": 50, "cooldown_start": 70, "cooldown_steps": 5}
    )
    rows = [(p.name, p.start, p.end, p.start_value, p.end_value) for p in schedule.phases]
    assert rows == [
        ("main", 0, 50, 1.0, 0.0),
        ("hold", 50, 70, 0.0, 0.0),
        ("cooldown", 70, 75, 0.0, 0.0),
    ]
    cut = build(
        {
            "name": "linear",
            "lr": 1.0,
            "decay_steps": 50,
            "cooldown_start": 20,
            "cooldown_steps": 5,
            "cooldown_lr": 0.1,
        }
    )
    rows = [(p.name, p.start, p.end) for p in cut.phases]
    assert rows == [("main", 0, 20), ("cooldown", 20, 25)]
    assert math.isclose(cut.phases[0].end_value, 0.6, rel_tol=1e-15)
    assert cut.phases[1].start_value == cut.phases[0].end_value


def test_a_milestone_step_already_has_the_decayed_value():
    schedule = build({"name": "multistep", "lr": 1.0, "milestones": [10, 20]})
    assert [schedule(s) for s in (9, 10, 19, 20, 10**9)] == [1.0, 0.1, 0.1, 0.1 * 0.1, 0.1 * 0.1]
    rows = [(p.name, p.start, p.end) for p in schedule.phases]
    assert rows == [("main", 0, 10), ("milestone 1", 10, 20), ("milestone 2", 20, None)]


def test_fractions_round_half_up_from_the_decimal_written():
    """0.35 of 100 is step 35 (the float 0.35 * 100 is 34.99...), 0.125 of 20 is 2.5: step 3."""
    case = {"name": "multistep", "lr": 1.0, "decay_steps": 100, "milestone_fractions": [0.35]}
    assert [p.start for p in build(case).phases] == [0, 35]
    case = {"name": "multistep", "lr": 1.0, "decay_steps": 20, "milestone_fractions": [0.125]}
    assert [p.start for p in build(case).phases] == [0, 3]
    assert milestone_steps(None, [0.125], 20) == [3]


def test_values_are_multiples_of_lr_and_default_to_the_previous_end():
    stages = [{"steps": 10, "shape": "cosine", "end": 0.1}, {"steps": 10}, {"steps": 5, "end": 0}]
    schedule = build({"name": "stages", "lr": 2.0, "stages": stages})
    rows = [(p.name, p.start, p.end, p.start_value, p.end_value) for p in schedule.phases]
    assert rows == [
        ("stage 0", 0, 10, 2.0, 0.2),
        ("stage 1", 10, 20, 0.2, 0.2),
        ("stage 2", 20, 25, 0.2, 0.0),
    ]
    assert schedule(10**9) == 0.0


def test_a_branch_where_a_piece_ends_keeps_the_piece_whole():
    """A cooldown branched off the first step of cycle 1 follows cycle 0 whole, from the
    value at that step: cycle 1's restart at its peak."""
    schedule = build(
        {
            "name": "linear",
            "lr": 1.0,
            "decay_steps": 20,
            "cycles": 2,
            "cooldown_start": 10,
            "cooldown_steps": 5,
        }
    )
    assert schedule.phases == (
        Piece(PieceKind.CYCLE, 0, 10, "linear", 1.0, 0.0, index=0),
        Piece(PieceKind.COOLDOWN, 10, 5, "linear", 1.0, 0.0),
    )


def test_a_branch_inside_a_piece_cuts_it_and_keeps_its_curve():
    """Cut at step 15 of a 20-step linear decay from 1 to 0: the piece ends at 0.25, and its
    curve is still the whole decay's (span 20, target 0)."""
    schedule = build(
        {"name": "linear", "lr": 1.0, "decay_steps": 20, "cooldown_start": 15, "cooldown_steps": 5}
    )
    assert schedule.phases == (
        Piece(PieceKind.MAIN, 0, 15, "linear", 1.0, 0.25, span=20, target=0.0),
        Piece(PieceKind.COOLDOWN, 15, 5, "linear", 0.25, 0.0),
    )
    want = [1.0, 0.3, 0.25, 0.0, 0.0]
    assert [schedule(s) for s in (0, 14, 15, 20, 21)] == pytest.approx(want, rel=1e-15)


def test_multistep_pieces_are_constant_and_the_last_ends_with_the_run():
    schedule = build(
        {
            "name": "multistep",
            "lr": 1.0,
            "decay_steps": 30,
            "milestones": [10, 20],
            "decay_factor": 0.5,
        }
    )
    assert schedule.phases == (
        Piece(PieceKind.MAIN, 0, 10, "constant", 1.0, 1.0),
        Piece(PieceKind.MILESTONE, 10, 10, "constant", 0.5, 0.5, index=1),
        Piece(PieceKind.MILESTONE, 20, 10, "constant", 0.25, 0.25, index=2),
    )
