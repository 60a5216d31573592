"""How a costly test shares its work between the two lanes (pyproject.toml's markers).

CI runs both lanes: the default lane (``pytest -n auto``, the README's command, within its
minutes) and the full lane (``-m "full or properties" --hypothesis-profile=ci``). So a case
marked ``full`` is still checked in CI, and a property test still gets the ``ci`` profile's
500 examples there, whatever the default lane runs of it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Any

import pytest
from hypothesis import settings

#: The profile of the default lane (tests/conftest.py).
DEFAULT_LANE_PROFILE = "dev"


def one_per_kind(
    cases: Iterable[Any], kind: Callable[[Any], Hashable], ids: Callable[[Any], str]
) -> list[Any]:
    """``cases`` as pytest params: the first case of each ``kind`` runs in the default lane,
    every other case is marked ``full`` (the full lane runs them all). For a check that costs
    a compile per case, ``kind`` is what the compiled program's structure depends on."""
    seen: set[Hashable] = set()
    params = []
    for case in cases:
        key = kind(case)
        marks = [pytest.mark.full] if key in seen else []
        seen.add(key)
        params.append(pytest.param(case, id=ids(case), marks=marks))
    return params


def default_lane_examples(examples: int) -> settings:
    """Hypothesis settings for a property whose every example is costly (a compile, a build
    through every entry path): ``examples`` in the default lane, the loaded profile's own
    number in any other (the full lane's 500, mutation testing's, ``thorough``)."""
    if settings.get_current_profile_name() == DEFAULT_LANE_PROFILE:
        return settings(max_examples=min(examples, settings.default.max_examples))
    return settings()


def every_pair(
    cases: Iterable[Any], factors: Iterable[Callable[[Any], Hashable]], ids: Callable[[Any], str]
) -> list[Any]:
    """``cases`` as pytest params: in the default lane, a few cases that together hold every
    pair of values of two ``factors`` that ``cases`` hold (greedily: the case that holds the
    most pairs not held yet, the first of equals, until all are held); every other case is
    marked ``full`` (the full lane runs them all)."""
    cases, factors = list(cases), list(factors)

    def pairs(case: Any) -> set[tuple[int, Hashable, int, Hashable]]:
        values = [factor(case) for factor in factors]
        return {
            (i, values[i], j, values[j])
            for i in range(len(values))
            for j in range(i + 1, len(values))
        }

    of_case = [pairs(case) for case in cases]
    missing = set().union(*of_case)
    chosen = set()
    while missing:
        best = max(range(len(cases)), key=lambda n: len(of_case[n] & missing))
        chosen.add(best)
        missing -= of_case[best]
    return [
        pytest.param(case, id=ids(case), marks=[] if n in chosen else [pytest.mark.full])
        for n, case in enumerate(cases)
    ]
