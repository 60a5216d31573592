"""How the viewer writes numbers and a sweep's swept values: legends, titles and axis ticks.

One number format everywhere a picture or a table shows a value:

- a whole number (written without a decimal point or exponent) as itself: ``1000``;
- a set of other numbers in one notation, chosen for the whole set: plain decimals
  (``0.5``, ``0.125``) when every nonzero one is within ``[1e-2, 1e3)``, else scientific
  notation without padding (``1.22e-4``, ``3e-3``, ``2.5e5``); at most :data:`DIGITS`
  significant digits, trailing zeros dropped; zero is ``0``.

Axis ticks (:func:`tick_labels`) use the same notation with the same number of decimals on
every tick of an axis, as few as tell the ticks apart.

A sweep's label (:func:`sweep_labels`): the overrides that differ between jobs, each written
``key=value`` with ``key`` the last part of the override's key (``scheduler.lr`` -> ``lr``,
``+scheduler@wd_schedule`` -> ``wd_schedule``; the whole key where two would read alike) and a
number in the format above; the overrides every job shares go to the title.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

__all__ = [
    "DIGITS",
    "PLAIN_STEPS_BELOW",
    "TICK_PRECISION",
    "format_numbers",
    "parse_override",
    "step_labels",
    "sweep_labels",
    "tick_labels",
]

#: Significant digits of a number in a label.
DIGITS = 3
#: Plain decimals for numbers of magnitude in ``[_PLAIN_FROM, _PLAIN_BELOW)``.
_PLAIN_FROM, _PLAIN_BELOW = 1e-2, 1e3
#: Steps below this are written as whole numbers on an axis.
PLAIN_STEPS_BELOW = 10**6
#: How far a tick's label may be from its value, relative to the axis's largest tick.
TICK_PRECISION = 5e-3
#: The most decimals a tick label gets.
_MAX_TICK_DECIMALS = 8


def _scientific(value: float, decimals: int, *, strip: bool) -> str:
    """``value`` as ``m.mme-x``: no ``+`` nor leading zeros in the exponent."""
    mantissa, exponent = f"{value:.{decimals}e}".split("e")
    if strip and "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def _plain(value: float, decimals: int, *, strip: bool) -> str:
    text = f"{value:.{decimals}f}"
    if strip and "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "0") else text


def _use_scientific(values: Sequence[float]) -> bool:
    nonzero = [abs(v) for v in values if v != 0 and math.isfinite(v)]
    return any(not _PLAIN_FROM <= v < _PLAIN_BELOW for v in nonzero)


def format_numbers(values: Sequence[float]) -> list[str]:
    """Each of ``values`` in one notation for them all, :data:`DIGITS` significant digits."""
    scientific = _use_scientific(values)
    texts = []
    for value in values:
        if value == 0:
            texts.append("0")
        elif not math.isfinite(value):
            texts.append(str(value))
        elif scientific:
            texts.append(_scientific(value, DIGITS - 1, strip=True))
        else:
            decimals = max(0, DIGITS - 1 - math.floor(math.log10(abs(value))))
            texts.append(_plain(float(f"{value:.{DIGITS}g}"), decimals, strip=True))
    return texts


def tick_labels(values: Sequence[float]) -> list[str]:
    """Labels of an axis's ticks: one notation and one number of decimals for all of them,
    as few decimals as keep each label within :data:`TICK_PRECISION` of the largest tick from
    its tick's value (round ticks are exact: ``2.5e-5``; the terminal's ticks at quarters of
    the peak get 3 significant digits); zero is ``0``, and a tick past the largest float has
    no label."""
    finite = [v for v in values if math.isfinite(v)]
    scientific = _use_scientific(finite)
    largest = max((abs(v) for v in finite), default=0.0)
    texts: list[str] = []
    for decimals in range(_MAX_TICK_DECIMALS + 1):
        texts = [_tick(v, decimals, scientific=scientific) for v in values]
        # In decimal arithmetic: a label of the largest float, rounded up, is past it.
        tolerance = Decimal(TICK_PRECISION) * Decimal(largest)
        close = (
            abs(Decimal(t) - Decimal(v)) <= tolerance
            for t, v in zip(texts, values, strict=True)
            if t
        )
        if all(close):
            break
    return texts


def _tick(value: float, decimals: int, *, scientific: bool) -> str:
    """One tick's label; none for a tick past the largest float (a margin drawn beyond it)."""
    if not math.isfinite(value):
        return ""
    if value == 0:
        return "0"
    if scientific:
        return _scientific(value, decimals, strip=False)
    return _plain(value, decimals, strip=False)


def step_labels(values: Sequence[float]) -> list[str]:
    """Labels of step ticks: whole numbers as they are, below :data:`PLAIN_STEPS_BELOW`;
    beyond, the numbers in one scientific notation (:func:`tick_labels`)."""
    if all(abs(v) < PLAIN_STEPS_BELOW for v in values):
        return [str(round(v)) for v in values]
    return tick_labels(values)


def count_labels(values: Sequence[float]) -> list[str]:
    """Labels of the ticks of a count of the run's unit (docs/units.md): as the steps'
    (:func:`step_labels`) when every tick is a whole number (samples, tokens), else in one
    notation with the decimals they need (:func:`tick_labels`: epochs ``0.5``, ``1.0``)."""
    if all(float(v).is_integer() for v in values if math.isfinite(v)):
        return step_labels(values)
    return tick_labels(values)


def parse_override(override: str) -> tuple[str, str]:
    """An override's key, without its ``+``, ``++`` or ``~``, and its value (``""`` if none)."""
    key, _, value = override.partition("=")
    return key.lstrip("+~"), value


def _short_keys(keys: Sequence[str]) -> dict[str, str]:
    """The last part of each key (after the last ``.`` or ``@``), or the whole key where the
    last parts of two keys are equal."""
    last = {key: key.replace("@", ".").rsplit(".", 1)[-1] for key in keys}
    counts: dict[str, int] = {}
    for short in last.values():
        counts[short] = counts.get(short, 0) + 1
    return {key: short if counts[short] == 1 else key for key, short in last.items()}


def _as_number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _is_whole(text: str) -> bool:
    return text.lstrip("+-").isdigit()


def sweep_labels(jobs: Sequence[Sequence[str]]) -> tuple[list[str], list[str]]:
    """Each job's label (its swept values) and what all jobs share, from their overrides.

    Args:
        jobs: Each job's overrides, as Hydra records them (``scheduler.lr=0.00012``).

    Returns:
        A label per job (``"lr=1.22e-4 scheduler=cosine"``; ``"#<n>"``, the job's position,
        for a job whose overrides are those of every job) and the shared overrides, as given
        but for a leading ``+`` or ``++``.
    """
    parsed = [dict(parse_override(item) for item in job) for job in jobs]
    keys = list(dict.fromkeys(key for job in parsed for key in job))
    shared_keys = [
        key for key in keys if all(key in job and job[key] == parsed[0][key] for job in parsed)
    ]
    swept = [key for key in keys if key not in shared_keys]
    short = _short_keys(swept)
    texts: dict[str, list[str]] = {}
    for key in swept:
        given = [job.get(key) for job in parsed]
        present = [text for text in given if text is not None]
        numbers = [_as_number(text) for text in present]
        if present and all(n is not None for n in numbers) and not all(map(_is_whole, present)):
            formatted = iter(format_numbers([n for n in numbers if n is not None]))
            texts[key] = [next(formatted) if text is not None else "" for text in given]
        else:
            texts[key] = [text if text is not None else "" for text in given]
    labels = []
    for position, job in enumerate(parsed):
        parts = [f"{short[key]}={texts[key][position]}" for key in swept if key in job]
        labels.append(" ".join(parts) or f"#{position}")
    first = jobs[0] if jobs else []
    shared = [item.lstrip("+") for item in first if parse_override(item)[0] in shared_keys]
    return labels, shared
