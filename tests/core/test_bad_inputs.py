"""A matrix of bad inputs, from Python and from a user's Hydra command line.

Every case must fail when the schedule is built, with ``ScheduleConfigError`` (or, for a type
Hydra's schema rejects, Hydra's own error) whose message names the field; none may return a
schedule. The test ids count the cases: ``py-NN-...`` from Python, ``cli-NN-...`` from the
command line. The last tests hold inputs these tests once found getting through (now errors).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from hydra_optax_schedules import (
    ScheduleConfigError,
    SchedulerConfig,
    build_schedule,
)

from support.entry_paths import PATHS
from support.user_app import USER_CONFIG, UserApp

NAN, INF = math.nan, math.inf
BASE = {"lr": 1e-3, "name": "cosine", "decay_steps": 100}
REMOVED = object()  # marks a field left out of the config


@dataclass
class PythonCase:
    kind: str
    entry: str
    changes: dict[str, Any]
    field: str
    fields: dict[str, Any] = field(init=False)

    def __post_init__(self):
        merged = {**BASE, **self.changes}
        self.fields = {k: v for k, v in merged.items() if v is not REMOVED}

    def label(self):
        shown = ",".join(
            f"{k}={'<removed>' if v is REMOVED else v!r}" for k, v in self.changes.items()
        )
        return f"{self.kind}-{self.entry}-{shown}"


PYTHON_CASES = [
    # Wrong types
    PythonCase("type", "SchedulerConfig", {"lr": "3e-4"}, "lr"),
    PythonCase("type", "build_schedule", {"lr": [1e-3]}, "lr"),
    PythonCase("type", "DictConfig", {"lr": {"value": 1e-3}}, "lr"),
    PythonCase("type", "mapping", {"lr": True}, "lr"),
    PythonCase("type", "SchedulerConfig", {"lr": None}, "lr"),
    PythonCase("type", "from_dict", {"lr": "fast"}, "lr"),
    PythonCase("type", "build_schedule", {"decay_steps": 100.0}, "decay_steps"),
    PythonCase("type", "from_dict", {"decay_steps": "1e3"}, "decay_steps"),
    PythonCase("type", "mapping", {"warmup_steps": 2.5}, "warmup_steps"),
    PythonCase("type", "SchedulerConfig", {"cooldown_steps": True}, "cooldown_steps"),
    PythonCase("type", "build_schedule", {"name": 3}, "name"),
    PythonCase("type", "DictConfig", {"warmup_shape": None}, "warmup_shape"),
    PythonCase("type", "from_dict", {"name": "polynomial", "power": "two"}, "power"),
    PythonCase("type", "mapping", {"name": "inverse_sqrt", "timescale": [1.0]}, "timescale"),
    PythonCase("type", "SchedulerConfig", {"end_lr": "0.1"}, "end_lr"),
    PythonCase("type", "build_schedule", {"cooldown_lr": None}, "cooldown_lr"),
    PythonCase("type", "from_dict", {"warmup_fraction": "half"}, "warmup_fraction"),
    # NaN and infinity
    PythonCase("nan-inf", "DictConfig", {"lr": NAN}, "lr"),
    PythonCase("nan-inf", "from_dict", {"lr": "inf"}, "lr"),
    PythonCase("nan-inf", "build_schedule", {"lr": np.float32("nan")}, "lr"),
    PythonCase("nan-inf", "SchedulerConfig", {"end_lr": NAN}, "end_lr"),
    PythonCase("nan-inf", "build_schedule", {"end_lr_factor": INF}, "end_lr_factor"),
    PythonCase("nan-inf", "mapping", {"cooldown_lr": -INF}, "cooldown_lr"),
    PythonCase("nan-inf", "SchedulerConfig", {"warmup_start_lr": NAN}, "warmup_start_lr"),
    PythonCase("nan-inf", "build_schedule", {"name": "polynomial", "power": INF}, "power"),
    PythonCase("nan-inf", "DictConfig", {"name": "inverse_sqrt", "timescale": NAN}, "timescale"),
    PythonCase("nan-inf", "mapping", {"warmup_fraction": NAN}, "warmup_fraction"),
    PythonCase("nan-inf", "SchedulerConfig", {"cooldown_fraction": INF}, "cooldown_fraction"),
    # Negative (or zero where it must be positive)
    PythonCase("negative", "SchedulerConfig", {"lr": -1e-3}, "lr"),
    PythonCase("negative", "build_schedule", {"lr": 0.0}, "lr"),
    PythonCase("negative", "mapping", {"decay_steps": -1}, "decay_steps"),
    PythonCase("negative", "DictConfig", {"warmup_steps": -5}, "warmup_steps"),
    PythonCase("negative", "from_dict", {"cooldown_steps": "-1"}, "cooldown_steps"),
    PythonCase("negative", "build_schedule", {"warmup_steps": np.int64(-3)}, "warmup_steps"),
    PythonCase("negative", "SchedulerConfig", {"end_lr": -1e-4}, "end_lr"),
    PythonCase("negative", "build_schedule", {"end_lr_factor": -0.1}, "end_lr_factor"),
    PythonCase("negative", "mapping", {"cooldown_lr": -1e-6}, "cooldown_lr"),
    PythonCase("negative", "DictConfig", {"warmup_start_lr": -1e-6}, "warmup_start_lr"),
    PythonCase("negative", "SchedulerConfig", {"name": "polynomial", "power": 0.0}, "power"),
    PythonCase("negative", "build_schedule", {"name": "polynomial", "power": -1.0}, "power"),
    PythonCase("negative", "mapping", {"name": "inverse_sqrt", "timescale": 0}, "timescale"),
    # Fractions out of [0, 1], or summing past 1
    PythonCase("fraction", "SchedulerConfig", {"warmup_fraction": 1.5}, "warmup_fraction"),
    PythonCase("fraction", "DictConfig", {"cooldown_fraction": -0.2}, "cooldown_fraction"),
    PythonCase(
        "fraction",
        "mapping",
        {"warmup_fraction": 0.7, "cooldown_fraction": 0.4},
        "cooldown_fraction",
    ),
    # Inconsistent end values
    PythonCase(
        "end", "SchedulerConfig", {"name": "linear", "end_lr": 1e-4, "end_lr_factor": 0.5}, "end_lr"
    ),
    PythonCase(
        "end", "DictConfig", {"name": "polynomial", "end_lr": 2e-4, "end_lr_factor": 0.1}, "end_lr"
    ),
    PythonCase("end", "build_schedule", {"name": "exponential"}, "end_lr"),
    PythonCase("end", "mapping", {"name": "exponential_decay", "end_lr_factor": 0.0}, "end_lr"),
    # Lengths that do not fit, or are missing
    PythonCase(
        "length", "SchedulerConfig", {"warmup_steps": 60, "cooldown_steps": 50}, "decay_steps"
    ),
    PythonCase(
        "length", "build_schedule", {"warmup_fraction": 1.0, "cooldown_steps": 1}, "decay_steps"
    ),
    PythonCase("length", "mapping", {"warmup_steps": 50, "cooldown_steps": 50}, "decay_steps"),
    PythonCase(
        "length",
        "DictConfig",
        {"name": "polynomial", "warmup_fraction": 0.5, "cooldown_fraction": 0.5},
        "decay_steps",
    ),
    PythonCase("length", "SchedulerConfig", {"decay_steps": 0}, "decay_steps"),
    PythonCase(
        "length", "SchedulerConfig", {"name": "wsd", "cooldown_fraction": 0.0}, "cooldown_fraction"
    ),
    PythonCase("length", "mapping", {"decay_steps": None}, "decay_steps"),
    PythonCase(
        "length",
        "DictConfig",
        {"name": "constant", "decay_steps": None, "cooldown_steps": 5},
        "decay_steps",
    ),
    PythonCase(
        "length",
        "SchedulerConfig",
        {"name": "constant", "decay_steps": None, "warmup_fraction": 0.1},
        "decay_steps",
    ),
    PythonCase(
        "length", "build_schedule", {"warmup_steps": 5, "warmup_fraction": 0.1}, "warmup_fraction"
    ),
    PythonCase(
        "length", "from_dict", {"cooldown_steps": 5, "cooldown_fraction": 0.1}, "cooldown_fraction"
    ),
    # Unknown names, shapes and fields
    PythonCase("unknown", "SchedulerConfig", {"name": "cosin"}, "name"),
    PythonCase("unknown", "DictConfig", {"name": "Cosine"}, "name"),
    PythonCase("unknown", "from_dict", {"name": "os.system"}, "name"),
    PythonCase("unknown", "build_schedule", {"warmup_shape": "sqrt"}, "warmup_shape"),
    PythonCase("unknown", "mapping", {"cooldown_shape": "1-sqrt"}, "cooldown_shape"),
    PythonCase("unknown", "mapping", {"warmup": 5}, "warmup"),
    PythonCase("unknown", "build_schedule", {"powr": 2.0}, "powr"),
    PythonCase("unknown", "DictConfig", {"cooldown_step": 5}, "cooldown_step"),
    # Missing mandatory values
    PythonCase("missing", "mapping", {"lr": REMOVED}, "lr"),
    PythonCase("missing", "build_schedule", {"lr": REMOVED}, "lr"),
    PythonCase("missing", "from_dict", {"lr": REMOVED}, "lr"),
    PythonCase("missing", "DictConfig", {"lr": "???"}, "lr"),
]


def names_field(message, name, full_key=False):
    """``name`` appears in ``message`` as a whole word (``lr`` in ``end_lr`` does not count)."""
    prefix = r"scheduler\." if full_key else r"(?<![\w.])"
    return re.search(rf"{prefix}{re.escape(name)}\b", message) is not None


@pytest.mark.parametrize(
    "case",
    PYTHON_CASES,
    ids=[f"py-{n:02d}-{case.label()}" for n, case in enumerate(PYTHON_CASES, 1)],
)
def test_python_bad_input_fails_naming_the_field(case):
    with pytest.raises(ScheduleConfigError) as error:
        PATHS[case.entry].build(case.fields)
    message = str(error.value)
    assert names_field(message, case.field, full_key=PATHS[case.entry].full_key), message
    if error.value.field is not None:  # from_dict's "lr missing" says so in words only
        assert error.value.field == case.field, message


# --- The Hydra command line -----------------------------------------------------------------

# Value errors reach the builder: batched, one multirun per option, one job per case (a dict
# override merges into the scheduler node). This app records what each job got.
RECORDING_APP = """
import json

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg):
    outcome = {"overrides": list(HydraConfig.get().overrides.task)}
    try:
        outcome["schedule"] = repr(instantiate(cfg.scheduler))
    except Exception as error:  # Hydra wraps the builder's error: record the whole chain
        chain = []
        while error is not None:
            chain.append([type(error).__name__, str(error), getattr(error, "field", None)])
            error = error.__cause__
        outcome["errors"] = chain
    with open(f"{HydraConfig.get().runtime.output_dir}/outcome.json", "w") as f:
        json.dump(outcome, f)


if __name__ == "__main__":
    main()
"""

CLI_SWEEPS = {
    "cosine": [
        ("{lr:-1}", "lr"),
        ("{lr:0}", "lr"),
        ("{lr:nan}", "lr"),
        ("{lr:inf}", "lr"),
        ("{end_lr_factor:-0.5}", "end_lr_factor"),
        ("{cooldown_lr:-inf}", "cooldown_lr"),
        ("{warmup_start_lr:nan}", "warmup_start_lr"),
        ("{warmup_fraction:1.5}", "warmup_fraction"),
        ("{cooldown_fraction:-0.1}", "cooldown_fraction"),
        ("{warmup_fraction:0.6,cooldown_fraction:0.5}", "cooldown_fraction"),
        ("{end_lr:0.0001,end_lr_factor:0.5}", "end_lr"),
        ("{warmup_steps:60,cooldown_steps:50}", "decay_steps"),
        ("{warmup_steps:50,cooldown_steps:50}", "decay_steps"),
        ("{decay_steps:null}", "decay_steps"),
        ("{decay_steps:-5}", "decay_steps"),
        ("{name:cosin}", "name"),
        ("{warmup_shape:sqrt}", "warmup_shape"),
        ("{cooldown_steps:5,cooldown_fraction:0.1}", "cooldown_fraction"),
    ],
    "polynomial": [("{power:0}", "power"), ("{power:-2}", "power"), ("{power:inf}", "power")],
    "inverse_sqrt": [
        ("{timescale:0}", "timescale"),
        ("{timescale:nan}", "timescale"),
        ("{decay_steps:null,cooldown_steps:5}", "decay_steps"),
    ],
    "exponential": [("{}", "end_lr"), ("{end_lr:0.0}", "end_lr")],
    "wsd": [
        ("{cooldown_fraction:0.0}", "cooldown_fraction"),
        ("{warmup_fraction:0.9}", "cooldown_fraction"),
    ],
}
SWEEP_CASES = [(option, *case) for option, cases in CLI_SWEEPS.items() for case in cases]

# Type errors and unknown names stop Hydra while it composes the config, before any job runs:
# one process each, through the user's unchanged app. The text is what stderr must contain.
HYDRA_CASES = [
    # Numbers are checked by the builder (options type them Any, so that NumPy and JAX
    # scalars pass through instantiate), before the app gets a schedule.
    (["scheduler.decay_steps=1e3"], "decay_steps=1000.0 is invalid"),
    (["scheduler.warmup_steps=true"], "warmup_steps=True is invalid"),
    (["scheduler.end_lr=[0.1]"], "end_lr=[0.1] is invalid"),
    (["scheduler.cooldown_steps=null"], "cooldown_steps=None is invalid"),
    (["scheduler.warmup_fraction=half"], "warmup_fraction='half' is invalid"),
    (["scheduler=cosin"], "Could not find 'scheduler/cosin'"),
    # Every option has every field (a field without effect warns); a typo composes and the
    # builder names it with the field it may mean, as from Python.
    (
        ["scheduler=wsd", "scheduler.timescle=5"],
        "scheduler.timescle is not a scheduler field; did you mean timescale?",
    ),
    (["scheduler.lr=???"], "Missing mandatory value: scheduler.lr"),
    (["scheduler.lr=nan"], "lr=nan is invalid"),  # a value error, as the unchanged app shows it
]
CLI_IDS = [
    f"cli-{n:02d}-{option}-{override}" for n, (option, override, _) in enumerate(SWEEP_CASES, 1)
] + [
    f"cli-{n:02d}-{' '.join(overrides)}"
    for n, (overrides, _) in enumerate(HYDRA_CASES, len(SWEEP_CASES) + 1)
]


@pytest.fixture(scope="module")
def sweep_outcomes(tmp_path_factory):
    """Run one multirun per option in the user's app; the outcome of every case, by case."""
    app = UserApp(tmp_path_factory.mktemp("bad_inputs") / "user_project")
    app.write("app.py", RECORDING_APP)
    outcomes = {}
    for option, cases in CLI_SWEEPS.items():
        app.write(
            f"conf/{option}_run.yaml",
            USER_CONFIG.replace("scheduler: cosine", f"scheduler: {option}"),
        )
        sweep = ",".join(override for override, _ in cases)
        app.run("-m", f"--config-name={option}_run", f"scheduler={sweep}")
        for job, (override, _) in enumerate(cases):
            outcomes[option, override] = json.loads(
                (app.root / f"sweep/{job}/outcome.json").read_text()
            )
    return outcomes


# The full lane (CI): one multirun per option (about 12 s); the default lane keeps a bad
# value from the command line below (scheduler.lr=nan, through the user's unchanged app).
@pytest.mark.full
@pytest.mark.parametrize(
    ("option", "override", "name"), SWEEP_CASES, ids=CLI_IDS[: len(SWEEP_CASES)]
)
def test_cli_bad_value_fails_naming_the_field(sweep_outcomes, option, override, name):
    outcome = sweep_outcomes[option, override]
    assert outcome["overrides"] == [f"scheduler={override}"]
    assert "schedule" not in outcome, outcome
    config_errors = [e for e in outcome["errors"] if e[0] == "ScheduleConfigError"]
    assert config_errors, outcome["errors"]
    _, message, error_field = config_errors[0]
    # Built by instantiate, the field is named by its full key, as on the command line.
    assert error_field == name and names_field(message, name, full_key=True), message
    assert "full_key: scheduler" in outcome["errors"][0][1]  # Hydra names the node


# One process each: the default lane keeps a value error and a type error (one the builder
# finds, one Hydra's composition finds) and an unknown option; the full lane runs them all.
DEFAULT_LANE_CASES = ("scheduler.lr=nan", "scheduler.decay_steps=1e3", "scheduler=cosin")
HYDRA_PARAMS = [
    pytest.param(
        *case,
        id=case_id,
        marks=[] if case[0][-1] in DEFAULT_LANE_CASES else [pytest.mark.full],
    )
    for case, case_id in zip(HYDRA_CASES, CLI_IDS[len(SWEEP_CASES) :], strict=True)
]


@pytest.mark.parametrize(("overrides", "text"), HYDRA_PARAMS)
def test_cli_bad_override_stops_the_app_naming_the_field(user_app, overrides, text):
    proc = user_app.run(*overrides, check=False)
    assert proc.returncode != 0
    assert text in proc.stderr, proc.stderr
    assert not (user_app.root / "run" / "values.json").exists()


def test_the_matrix_has_at_least_40_cases_from_python_and_the_command_line():
    assert len(PYTHON_CASES) >= 40
    assert len(SWEEP_CASES) + len(HYDRA_CASES) >= 10
    assert len(set(CLI_IDS)) == len(CLI_IDS) == len(SWEEP_CASES) + len(HYDRA_CASES)


# --- Inputs that get through ----------------------------------------------------------------


def rejected_or_finite(fields):
    """The core may reject the config, naming a field, or build a schedule whose every value is
    finite and non-negative; anything else (an inf/NaN LR, another exception) is a bug."""
    try:
        schedule = build_schedule(**fields)
    except ScheduleConfigError:
        return True
    D = fields.get("decay_steps") or 10
    steps = list(range(0, D + 2))
    values = [schedule(s) for s in steps] + list(schedule(np.array(steps)))
    return all(math.isfinite(v) and v >= 0 for v in values)


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda: build_schedule(lr=10**400), id="lr"),
        pytest.param(
            lambda: build_schedule(lr=1.0, name="inverse_sqrt", timescale=10**400), id="timescale"
        ),
        pytest.param(
            lambda: SchedulerConfig.from_dict(SchedulerConfig, {"lr": 10**400}), id="from_dict-lr"
        ),
        pytest.param(
            lambda: build_schedule(lr=1.0, decay_steps=10**400, warmup_fraction=0.1),
            id="decay_steps-with-a-fraction",
        ),
    ],
)
def test_an_integer_too_large_for_a_float_is_a_config_error(build):
    with pytest.raises(ScheduleConfigError):
        build()


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize(
    "fields",
    [
        pytest.param(dict(name="cosine", lr=1.7e308), id="cosine-lr=1.7e308"),
        pytest.param(dict(name="linear", lr=1.7e308, warmup_steps=3), id="linear-lr=1.7e308"),
        pytest.param(
            dict(name="constant", lr=1.7e308, cooldown_steps=5, cooldown_shape="cosine"),
            id="cosine-cooldown-lr=1.7e308",
        ),
        pytest.param(
            dict(name="linear", lr=1e10, end_lr_factor=1e300),
            id="end_lr_factor*lr=inf",
        ),
        pytest.param(
            dict(name="exponential", lr=1e-10, end_lr=1e300),
            id="exponential-E/lr=inf",
        ),
        pytest.param(
            dict(name="exponential", lr=1e10, end_lr=5e-324),
            id="exponential-E/lr=0",
        ),
    ],
)
def test_derived_values_that_overflow_are_rejected_or_stay_finite(fields):
    assert rejected_or_finite({"decay_steps": 10, **fields})


def test_a_wsd_run_too_short_for_its_default_cooldown_says_why():
    with pytest.raises(ScheduleConfigError) as error:
        build_schedule(lr=1e-3, name="wsd", decay_steps=2)
    message = str(error.value)
    assert "decay_steps=2" in message and "cooldown_fraction=None" not in message, message
