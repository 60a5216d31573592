"""Every schedule of a run checked on resume (``check_resumes``): a parameter group's own
schedule under the same policy as the main one, named by its full key.

Generated pairs (``support/resume_pairs.py``), each classified by the spec's reference
evaluated at every step up to the resume step, never by the package's comparison: a group's
schedule edited, gained (the group followed the main schedule, and now has its own) or lost
(the other way round).
"""

from __future__ import annotations

import re

import hypothesis.strategies as st
import pytest
from hypothesis import assume, event, given

from hydra_optax_schedules import (
    ScheduleConfigError,
    check_resumes,
    saved_config,
    saved_configs,
)

from support.generators import configs
from support.resume_pairs import build, edited, first_difference

MAIN = "scheduler"
HEAD = "optimizer.param_groups.head.scheduler"


@st.composite
def runs(draw):
    """``(saved configs, current configs, resume step)``, each a mapping of keys to fields;
    the main schedule is the same on both sides, the group's own schedule changes."""
    main = draw(configs())
    how = draw(st.sampled_from(["edited", "edited", "gained", "lost"]))
    event(f"group: {how}")
    group = draw(configs())
    if how == "edited":
        saved, current = {MAIN: main, HEAD: group}, {MAIN: main, HEAD: draw(edited(group))}
    elif how == "gained":
        saved, current = {MAIN: main}, {MAIN: main, HEAD: draw(edited(main))}
    else:
        saved, current = {MAIN: main, HEAD: group}, {MAIN: main}
    try:
        for fields in current.values():
            build(fields)
    except ScheduleConfigError:
        assume(False)
    return saved, current, draw(st.integers(0, 60))


def group_sides(saved, current):
    """The fields of the group's schedule before and after: a side without its own follows
    the main schedule."""
    return saved.get(HEAD, saved[MAIN]), current.get(HEAD, current[MAIN])


@given(runs())
def test_a_groups_schedule_is_checked_with_the_same_policy_named_by_its_full_key(run):
    saved, current, step = run
    records = saved_configs({key: build(fields) for key, fields in saved.items()})
    schedules = {key: build(fields) for key, fields in current.items()}
    before, after = group_sides(saved, current)
    moved_at, identical = first_difference(before, after, range(step + 1))
    if moved_at is not None:
        event("the group's lr moved")
        with pytest.raises(ScheduleConfigError) as raised:
            check_resumes(records, schedules, step, policy_field="resume_policy")
        message = str(raised.value)
        # Named by the group's full key, or, if no field differs, by the change itself.
        assert message.startswith(f"{HEAD}.") or message.startswith("the same config"), message
        first = re.search(r"first at step (\d+)", message) or re.search(r"at step (\d+)", message)
        assert int(first.group(1)) <= moved_at, (message, moved_at)
        assert "resume_policy=config" in message
        for policy, side in (("config", schedules), ("checkpoint", None)):
            checks = check_resumes(records, schedules, step, policy=policy)
            assert checks[HEAD].moved is not None and checks[HEAD].moved.step <= moved_at
            kept = build(after) if side is not None else build(before)
            assert checks[HEAD].schedule == kept
            assert checks[MAIN].moved is None and checks[MAIN].fields == ()
        return
    if not identical:
        event("values within rounding: not classified")
        return
    event("identical up to the resume step")
    for policy in ("strict", "config", "checkpoint"):
        checks = check_resumes(records, schedules, step, policy=policy)
        assert set(checks) == {MAIN, HEAD}
        assert checks[HEAD].moved is None and checks[MAIN].moved is None
        kept = build(before) if policy == "checkpoint" else build(after)
        assert checks[HEAD].schedule == kept


def test_the_issues_example_for_a_group():
    head = {"lr": 1e-2, "name": "cosine", "decay_steps": 1000}
    main = {"lr": 1e-3, "name": "constant"}
    records = saved_configs({MAIN: build(main), HEAD: build(head)})
    current = {MAIN: build(main), HEAD: build({**head, "decay_steps": 2000})}
    with pytest.raises(ScheduleConfigError) as raised:
        check_resumes(records, current, 400)
    assert str(raised.value).startswith(
        f"{HEAD}.decay_steps 1000 -> 2000 moves lr at step 400 from "
    ), str(raised.value)
    assert raised.value.field == "decay_steps"
    # The main schedule unchanged, the group's extended before its decay starts: allowed.
    wsd = {"lr": 1e-2, "name": "wsd", "decay_steps": 1000}
    records = {MAIN: saved_config(build(main)), HEAD: saved_config(build(wsd))}
    checks = check_resumes(
        records, {MAIN: build(main), HEAD: build({**wsd, "decay_steps": 2000})}, 700
    )
    assert checks[HEAD].moved is None and checks[HEAD].reshaped is not None
    assert "reshapes the future" in checks[HEAD].report(f"{HEAD}.")
    assert checks[MAIN].report() == "resuming at step 700: the schedule is unchanged"
