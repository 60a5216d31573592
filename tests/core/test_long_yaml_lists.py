"""A YAML list longer than ``MAX_COUNT`` is refused up front, not after it is built (issue 19).

Under the schedule's node (``milestones``, ``units.ramp``, ``stages``, in block or flow style)
the reader stops at the list's ``MAX_COUNT + 1``-th item, naming the list's full key and the
limit: what follows is never parsed (a syntax error placed after it is not met) and the
memory held stays far below what building the list takes. A long list elsewhere in a run's
config (its own data files) is not refused and not built; it is refused, with its length, if
the schedule refers to it (an interpolation, an alias). Reading a text by the counting reader
gives the same data as libyaml's composer (the fast path of short texts).

Measures are deterministic (what is parsed, ``tracemalloc`` peaks with a wide margin), never
time; the figures are in BENCHMARKS.md, "Bounded work".
"""

from __future__ import annotations

import math
import pathlib
import tracemalloc

import pytest
import yaml
from hypothesis import given
from omegaconf import OmegaConf

from hydra_optax_schedules import ScheduleConfigError
from hydra_optax_schedules.loading.reading import Elided, read_yaml
from hydra_optax_schedules.safe_load import load_schedule
from hydra_optax_schedules.values import MAX_COUNT

from support.generators import saved_configs

MILLION = 10**6
#: A list parsed whole and skipped under tracemalloc (several times slower): long enough that
#: building it would hold far more than MOST_BYTES (its YAML nodes alone, about 150 MB).
MANY = 300_000
#: Long enough to skip, short enough for the default lane: the items past MAX_COUNT are
#: parsed and skipped one by one (a few us each).
LONG = 3 * MAX_COUNT
#: The most memory refusing or skipping a list of a million items may hold: the first
#: MAX_COUNT items are composed (a few MB); building the million takes hundreds of MB.
MOST_BYTES = 32 * 2**20
#: What makes a text take the counting reader: more list indicators than MAX_COUNT.
PADDING = "# " + "-" * (MAX_COUNT + 1) + "\n"
SCHEDULER = "scheduler:\n  name: multistep\n  lr: 1.0\n  decay_steps: 1000000000\n"


def block(n: int, indent: str, item=lambda i: str(i + 1)) -> str:
    return "".join(f"{indent}- {item(i)}\n" for i in range(n))


def under_the_node(field: str, n: int) -> str:
    """A schedule whose ``field`` is a list of ``n`` items."""
    if field == "milestones":
        return SCHEDULER + "  milestones:\n" + block(n, "    ")
    if field == "milestones (flow)":
        return SCHEDULER + "  milestones: [" + ", ".join(map(str, range(1, n + 1))) + "]\n"
    if field == "units.ramp":
        ramp = block(n, "      ", lambda i: f"[{i + 1}, 8]")
        return SCHEDULER + "  units:\n    batch_size: 8\n    ramp:\n" + ramp
    assert field == "stages"
    stages = block(n, "    ", lambda i: "{steps: 1}")
    return "scheduler:\n  name: stages\n  lr: 1.0\n  stages:\n" + stages


def data_files(n: int) -> str:
    """A run's own config with a list of ``n`` data files, anchored as ``files``."""
    return "data:\n  files: &files\n" + block(n, "    ", lambda i: f"shard-{i:07d}.tar")


FIELDS = ["milestones", "milestones (flow)", "units.ramp", "stages"]
REFERENCES = {"absolute": "${data.files}", "relative": "${..data.files}", "alias": "*files"}


def peak_bytes(function, *args, **kwargs):
    """``(error or result, peak)``: what ``function`` raises or returns, and the most memory
    it held."""
    tracemalloc.start()
    try:
        try:
            outcome = function(*args, **kwargs)
        except ScheduleConfigError as error:
            outcome = error
        return outcome, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def assert_refused_at_the_limit(error: object, field: str) -> None:
    assert isinstance(error, ScheduleConfigError), error
    key = field.split(" ")[0]
    assert str(error).startswith(
        f"scheduler.{key} has more than {MAX_COUNT} items, which is invalid: at most MAX_COUNT "
        f"= {MAX_COUNT} items are accepted"
    )
    assert error.field == key


@pytest.mark.parametrize("field", FIELDS)
def test_a_long_list_under_the_schedule_is_refused_at_its_limit(field):
    try:
        load_schedule(under_the_node(field, LONG), key="scheduler")
    except ScheduleConfigError as error:
        assert_refused_at_the_limit(error, field)
    else:
        pytest.fail(f"{LONG} items accepted")


@pytest.mark.full  # a million items written, read under tracemalloc (slower several times)
@pytest.mark.parametrize("field", FIELDS)
def test_refusing_a_million_items_under_the_schedule_holds_little_memory(field):
    error, peak = peak_bytes(load_schedule, under_the_node(field, MILLION), key="scheduler")
    assert_refused_at_the_limit(error, field)
    assert peak < MOST_BYTES, peak


@pytest.mark.parametrize("flow", [False, True])
def test_nothing_after_the_limit_is_parsed(flow):
    """A syntax error right after the list's first MAX_COUNT + 100 items (past libyaml's
    lookahead) is never met: the reader stopped at the MAX_COUNT + 1-th."""
    items = [str(i) for i in range(1, MAX_COUNT + 101)]
    if flow:
        text = SCHEDULER + "  milestones: [" + ", ".join(items) + ", {unclosed: [\n"
    else:
        text = SCHEDULER + "  milestones:\n" + "".join(f"    - {i}\n" for i in items)
        text += "    - {unclosed: [\n"
    with pytest.raises(yaml.YAMLError):
        yaml.safe_load(text)  # the error is there, for a reader that parses everything
    with pytest.raises(ScheduleConfigError, match=f"has more than {MAX_COUNT} items"):
        load_schedule(text, key="scheduler")


def test_the_whole_text_is_the_schedules_node_without_a_key():
    text = under_the_node("milestones", LONG).replace("\n  ", "\n").removeprefix("scheduler:\n")
    with pytest.raises(ScheduleConfigError) as error:
        load_schedule(text)
    assert str(error.value).startswith(f"milestones has more than {MAX_COUNT} items")


@pytest.mark.parametrize("count", [MAX_COUNT - 1, MAX_COUNT])
def test_a_list_at_the_limit_is_read(count):
    text = SCHEDULER + "  decay_factor: 0.999\n  milestones:\n" + block(count, "    ") + PADDING
    assert load_schedule(text, key="scheduler").config.milestones == tuple(range(1, count + 1))


COSINE = "scheduler:\n  name: cosine\n  lr: 1.0\n  decay_steps: 10\n"


def test_a_long_list_elsewhere_is_read_unbuilt_and_the_schedule_loads():
    text = data_files(LONG) + COSINE
    assert read_yaml(text, counted=("scheduler",))["data"]["files"] == Elided(LONG)
    assert load_schedule(text, key="scheduler")(5) == 0.5


@pytest.mark.full  # MANY items parsed and skipped, under tracemalloc
def test_many_data_files_elsewhere_are_neither_refused_nor_built():
    schedule, peak = peak_bytes(load_schedule, data_files(MANY) + COSINE, key="scheduler")
    assert not isinstance(schedule, ScheduleConfigError), schedule
    assert schedule(5) == 0.5
    assert peak < MOST_BYTES, peak


@pytest.mark.parametrize("reference", REFERENCES.values(), ids=REFERENCES)
def test_a_long_list_the_schedule_refers_to_is_refused_with_its_length(reference):
    text = data_files(LONG) + SCHEDULER + f"  milestones: {reference}\n"
    with pytest.raises(ScheduleConfigError) as error:
        load_schedule(text, key="scheduler")
    assert str(error.value).startswith(
        f"scheduler.milestones has {LONG} items, which is invalid: at most MAX_COUNT"
    )
    assert error.value.field == "milestones"


@pytest.mark.full  # MANY items parsed and skipped, under tracemalloc
def test_refusing_many_items_the_schedule_refers_to_holds_little_memory():
    text = data_files(MANY) + SCHEDULER + "  milestones: ${data.files}\n"
    error, peak = peak_bytes(load_schedule, text, key="scheduler")
    assert str(error).startswith(f"scheduler.milestones has {MANY} items")
    assert peak < MOST_BYTES, peak


def test_an_item_of_a_long_list_elsewhere_is_read_as_omegaconf_reads_it():
    """Selecting one item of a long list (``${data.steps.7}``) needs the list: the text is
    read again, whole, and the schedule loads as Hydra's ``instantiate`` builds it."""
    text = "data:\n  steps:\n" + block(LONG, "    ") + COSINE
    text = text.replace("decay_steps: 10", "decay_steps: ${data.steps.7}")
    assert OmegaConf.create(text).scheduler.decay_steps == 8
    schedule = load_schedule(text, key="scheduler")
    assert schedule.config.decay_steps == 8 and schedule(4) == 0.5


def test_a_schedule_node_that_is_a_long_list_elsewhere_is_named_a_list():
    text = data_files(LONG) + "scheduler: ${data.files}\n"
    with pytest.raises(ScheduleConfigError, match="'scheduler' is a list, expected a mapping"):
        load_schedule(text, key="scheduler")


# --- The counting reader reads what libyaml's composer reads ---------------------------------

TEXTS = [
    "a: &x [1, 2, {b: 3}]\nc: *x\nd:\n  - - 1\n    - 2\n  - []\n  - {}\n",
    "base: &base {lr: 1.0, name: cosine}\nscheduler:\n  <<: *base\n  lr: 2.0\n",
    "s: !!str 5\nf: 3e-4\nt: 2024-01-01\nn: ~\nb: yes\ni: 0x1F\nl: [-1, -.5, .inf, .nan]\n",
    "p: !!python/object/apply:pathlib.PosixPath\n- /\n- tmp\n",
    '{"json": [1, 2.5, "x", null, true, [[]]]}',
    "- 1\n- [2, [3, [4]]]\n- {k: [5]}\n",
]


@pytest.mark.parametrize("text", TEXTS)
def test_the_counting_reader_reads_what_libyaml_composes(text):
    assert repr(read_yaml(text + PADDING)) == repr(read_yaml(text))  # NaN: compare the text


def test_the_counting_reader_keeps_omegaconfs_rules():
    assert isinstance(read_yaml(TEXTS[3] + PADDING)["p"], pathlib.PurePath)
    values = read_yaml(TEXTS[2] + PADDING)
    assert values["s"] == "5" and values["f"] == 3e-4 and values["t"] == "2024-01-01"
    assert math.isnan(values["l"][3])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: 1\nb: 2\na: 3\n", "a is set twice in one mapping (lines 1 and 3)"),
        ("a: [1, " + "7" * 5000 + "]\n", "a[1]=<an integer of 5000 digits> is invalid"),
        ("a: *undefined\n", "cannot read the config: found undefined alias"),
        ("a: !!python/name:os.system\n", "cannot read the config: could not determine"),
    ],
)
def test_the_counting_reader_refuses_what_libyaml_refuses(text, message):
    for given_text in (text, text + PADDING):
        with pytest.raises(ScheduleConfigError) as error:
            read_yaml(given_text)
        assert str(error.value).startswith(message), given_text[:40]


@given(saved_configs(broken=True))
def test_a_saved_config_loads_the_same_by_either_reader(tmp_path_factory, case):
    document, _ = case
    path = tmp_path_factory.mktemp("run") / "config.yaml"
    OmegaConf.save(OmegaConf.create(document), path)
    text = path.read_text()

    def outcome(given_text):
        try:
            return load_schedule(given_text, key="scheduler").config
        except ScheduleConfigError as error:
            return str(error)

    assert outcome(text + PADDING) == outcome(text)
