"""How the viewer writes numbers and swept values: one format, the varying parts only."""

from __future__ import annotations

import pytest

from hydra_optax_schedules.viewer.labels import (
    format_numbers,
    step_labels,
    sweep_labels,
    tick_labels,
)


def test_a_swept_peak_is_its_short_key_and_three_digits():
    labels, shared = sweep_labels(
        [
            ["scheduler.lr=0.00012188056684060332", "steps=1000"],
            ["scheduler.lr=0.0031622776601683794", "steps=1000"],
        ]
    )

    assert labels == ["lr=1.22e-4", "lr=3.16e-3"]
    assert shared == ["steps=1000"]


def test_the_values_of_a_key_share_one_notation():
    labels, _ = sweep_labels([["scheduler.lr=0.5"], ["scheduler.lr=0.25"], ["scheduler.lr=0.001"]])
    assert labels == ["lr=5e-1", "lr=2.5e-1", "lr=1e-3"]

    labels, _ = sweep_labels([["scheduler.end_lr_factor=0.5"], ["scheduler.end_lr_factor=0.125"]])
    assert labels == ["end_lr_factor=0.5", "end_lr_factor=0.125"]


def test_whole_numbers_and_names_are_kept_as_written():
    labels, shared = sweep_labels(
        [
            ["scheduler=cosine", "scheduler.warmup_steps=100", "seed=0"],
            ["scheduler=wsd", "scheduler.warmup_steps=2000", "seed=0"],
        ]
    )

    assert labels == ["scheduler=cosine warmup_steps=100", "scheduler=wsd warmup_steps=2000"]
    assert shared == ["seed=0"]


def test_two_keys_that_end_alike_keep_their_whole_keys():
    labels, _ = sweep_labels(
        [
            ["scheduler.lr=1e-3", "wd_schedule.lr=0.1", "+scheduler@wd_schedule=linear"],
            ["scheduler.lr=3e-3", "wd_schedule.lr=0.2", "+scheduler@wd_schedule=cosine"],
        ]
    )

    assert labels == [
        "scheduler.lr=1e-3 wd_schedule.lr=0.1 wd_schedule=linear",
        "scheduler.lr=3e-3 wd_schedule.lr=0.2 wd_schedule=cosine",
    ]


def test_a_group_mounted_elsewhere_is_named_by_where_it_is():
    labels, _ = sweep_labels([["+scheduler@wd_schedule=linear"], ["+scheduler@wd_schedule=cosine"]])
    assert labels == ["wd_schedule=linear", "wd_schedule=cosine"]


def test_a_job_with_nothing_of_its_own_is_named_by_its_position():
    labels, shared = sweep_labels([["steps=10"], ["steps=10"]])
    assert labels == ["#0", "#1"]
    assert shared == ["steps=10"]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([0.0, 7.5e-5, 1.5e-4, 2.25e-4, 3e-4], ["0", "7.50e-5", "1.50e-4", "2.25e-4", "3.00e-4"]),
        ([0.0, 0.25, 0.5, 0.75, 1.0], ["0", "0.25", "0.50", "0.75", "1.00"]),
        ([1e-6, 1e-5, 1e-4, 1e-3], ["1e-6", "1e-5", "1e-4", "1e-3"]),
        ([0.0, 0.0005, 0.001], ["0", "5e-4", "1e-3"]),
    ],
)
def test_the_ticks_of_an_axis_share_one_notation_and_number_of_decimals(values, expected):
    assert tick_labels(values) == expected


def test_steps_are_whole_numbers_until_a_million():
    assert step_labels([0.0, 250.0, 500.0]) == ["0", "250", "500"]
    assert step_labels([0.0, 5e8, 1e9]) == ["0", "5e8", "1e9"]


def test_numbers_round_to_three_significant_digits():
    assert format_numbers([0.00012188056684060332, 5.005e-4]) == ["1.22e-4", "5e-4"]
    assert format_numbers([0.5, 0.125, 123.456]) == ["0.5", "0.125", "123"]
