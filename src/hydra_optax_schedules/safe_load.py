"""Build a schedule from a config you did not write, without running anything it names.

``hydra.utils.instantiate`` imports and calls whatever a config's ``_target_`` names, at every
level of the config (a ``_target_`` nested in any field is called first), and resolves
``${name:...}`` interpolations by calling the resolvers registered in the process. On a config
read from a checkpoint or received from someone else, that runs their code.
:func:`load_schedule` reads such a config as plain data: it accepts no ``_target_`` but this
package's builder, no nested nodes and no resolvers, and never imports or calls anything the
data names. It does not use Hydra at all; it reads YAML and interpolations with OmegaConf's
rules, so that a run's saved config loads whenever ``instantiate`` would build it without
running anything.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from omegaconf import DictConfig, OmegaConf
from omegaconf._utils import split_key

from hydra_optax_schedules.config.coerce import scheduler_fields, scheduler_key, stage_fields
from hydra_optax_schedules.config.schema import SchedulerConfig
from hydra_optax_schedules.config.units import UNIT_FIELDS
from hydra_optax_schedules.errors import ScheduleConfigError
from hydra_optax_schedules.hydra_options import BUILDER_TARGET
from hydra_optax_schedules.loading.interpolation import (
    InsideElided,
    Unresolved,
    is_interpolation,
    resolve,
)
from hydra_optax_schedules.loading.reading import Elided, read_yaml
from hydra_optax_schedules.messages import run_length_conflict, too_many, unknown_field
from hydra_optax_schedules.schedule import Schedule
from hydra_optax_schedules.values import MAX_COUNT, as_number, show

__all__ = ["TRUSTED_TARGETS", "load_schedule"]

#: The only ``_target_`` values accepted: this package's builder, by its public and its
#: module path. The value is compared as a string; it is never imported.
TRUSTED_TARGETS = (BUILDER_TARGET, "hydra_optax_schedules.schedule.build_schedule")

#: The fields that hold a list of single values, and a mapping of single values.
_LIST_FIELDS = ("milestones", "milestone_fractions")
_MAPPING_FIELDS = ("shape_params",)
_SCALARS = (bool, int, float, str, type(None))
_MISSING = "???"
#: The keys that ``instantiate`` reads itself and that change nothing in the schedule.
_BUILDER_KEYS = ("_target_", "_partial_", "_recursive_", "_convert_")
#: Where a value stands in the document: its keys and list indices from the top (``None``:
#: nowhere, such as a keyword's value).
Where = tuple[Any, ...] | None


def load_schedule(
    data: Mapping[str, Any] | DictConfig | str | os.PathLike[str],
    *,
    key: str | None = None,
    decay_steps: int | None = None,
    run_steps: int | None = None,
    resume_step: int | None = None,
) -> Schedule:
    """Build a schedule from a scheduler config read from a place you do not trust.

    Use it instead of ``hydra.utils.instantiate`` for a config saved in a checkpoint, a run's
    ``.hydra/config.yaml``, or a YAML file from someone else. The config is read as data:

    - ``_target_`` may be absent or one of :data:`TRUSTED_TARGETS`; any other value is
      refused (and never imported). ``_partial_`` and ``_recursive_`` (true or false) and
      ``_convert_`` are accepted and ignored, as they change nothing in the schedule; any other
      key that is not a ``SchedulerConfig`` field (``_args_``, a typo) is refused.
    - Every field holds one value (a number, string, boolean or null), except ``milestones``
      and ``milestone_fractions`` (lists of such values) and ``stages`` (a list of mappings
      of stage fields to such values) and ``units`` (a mapping of its fields to such values,
      its ``ramp`` a list of ``[point, batch_size]`` lists). Any other mapping or list is
      refused, and so is any key in a stage or in ``units`` that is not one of its fields
      (``_target_`` included): ``instantiate`` would recurse into it and call any
      ``_target_`` inside.
    - YAML is read as OmegaConf reads it (:mod:`.loading.reading`), with PyYAML's safe
      loader: a tag such as ``!!python/object/apply`` is an error, not a call; a key set twice
      in one mapping is refused (OmegaConf refuses it too), naming it and both lines.
    - Interpolations are resolved as OmegaConf resolves them (:mod:`.loading.interpolation`,
      with OmegaConf's own grammar): absolute (``decay_steps: ${trainer.max_steps}``),
      relative (``${..trainer.max_steps}``), in brackets, embedded in a string, and to a list
      (``milestones: ${run.milestones}``). A resolver is refused, naming the key and the
      resolver: ``${name:...}`` would call code registered in your process (many projects
      register ``eval``), and ``${oc.env:...}`` would read your environment, not the run's.
      The resolvers read are OmegaConf's own that only read the config: ``oc.decode`` (its
      parser of a string) and ``oc.select`` (a key, or a default).
    - ``???`` (a mandatory value left unset) is reported as missing.
    - A YAML list of more than ``MAX_COUNT`` items (``values.MAX_COUNT``) is never built: in
      the scheduler node it is refused when its ``MAX_COUNT + 1``-th item is read, before the
      rest is parsed; elsewhere (a run's own long list of data files) it is skipped, and
      refused if the scheduler refers to it (the text is read again, whole, if a value
      selects one of its items: ``${data.sizes.0}``).

    The schedule is then validated like any other (``build_schedule``).

    Args:
        data: The config: a mapping (``SchedulerConfig.to_dict()``, a checkpoint's dict,
            ``json.load``), an OmegaConf ``DictConfig``, YAML or JSON text (``str``), or the
            path of a YAML or JSON file (``pathlib.Path`` or any ``os.PathLike``; a ``str``
            is always read as text).
        key: Dotted path of the scheduler node inside ``data``, e.g. ``"scheduler"`` for a
            run's whole config; ``None`` if ``data`` is the scheduler node itself.
            Interpolations are looked up from the top of ``data``, so pass the whole config
            and ``key`` rather than the node alone.
        decay_steps: The run length, as ``instantiate(cfg.scheduler, decay_steps=n)`` gave it
            in 0.2.0: the saved ``decay_steps`` if that is unset; a saved config with another
            ``decay_steps`` is an error naming both (prefer ``run_steps``).
        run_steps: The run length you count at runtime, as ``instantiate(cfg.scheduler,
            run_steps=n)`` gives it: the saved ``decay_steps`` if that is unset
            (``decay_steps: null``); a saved config with another ``decay_steps`` is an error
            naming both.
        resume_step: The step a resumed run continues from, as ``instantiate(cfg.scheduler,
            resume_step=r)`` gives it: the ``cooldown_start`` of a config that sets it to
            ``"resume"`` (no effect otherwise).

    Returns:
        The validated schedule.

    Raises:
        ScheduleConfigError: The config is refused or invalid; the message names the key, as
            ``scheduler.<key>`` when ``key="scheduler"``, and ``field`` holds its name.
        TypeError: ``data`` is none of the accepted types.

    Example:
        >>> from hydra_optax_schedules.safe_load import load_schedule
        >>> saved = '''
        ... trainer:
        ...   max_steps: 100
        ... scheduler:
        ...   _target_: hydra_optax_schedules.build_schedule
        ...   name: cosine
        ...   lr: 1e-3
        ...   decay_steps: ${trainer.max_steps}
        ... '''
        >>> schedule = load_schedule(saved, key="scheduler")
        >>> schedule(0), schedule(100)
        (0.001, 0.0)
    """
    try:
        return _load(data, key, decay_steps, run_steps, resume_step, elide=True)
    except InsideElided:  # a value selects an item of a long list elsewhere: read it whole
        return _load(data, key, decay_steps, run_steps, resume_step, elide=False)


def _load(
    data: Any,
    key: str | None,
    decay_steps: int | None,
    run_steps: int | None,
    resume_step: int | None,
    *,
    elide: bool,
) -> Schedule:
    """:func:`load_schedule`; ``elide``: read a YAML text's long lists unbuilt."""
    document, at = _read(data, tuple(key.split(".")) if key else (), elide)
    path = (*at, *(key.split(".") if key else ()))
    node, where = _select(document, path)
    prefix = "".join(f"{part}." for part in path)

    def value_of(name: str) -> Any:  # a key of the builder's own, resolved
        return _resolved(prefix, name, node[name], document, _item(where, name))[0]

    target = value_of("_target_") if "_target_" in node else None
    if "_target_" in node and target not in TRUSTED_TARGETS:
        raise ScheduleConfigError(
            f"{prefix}_target_={show(target)} is refused: a config from an untrusted source may "
            f"only name this package's builder ({' or '.join(TRUSTED_TARGETS)}); nothing was "
            "imported or called",
            field="_target_",
        )
    for flag in ("_partial_", "_recursive_"):  # instantiate refuses a _recursive_ of another type
        if flag in node and not isinstance(value_of(flag), bool):
            raise _refused(prefix, flag, node[flag], "expected true or false")
    # In the document's order, each key checked before its value is read. Only the builder's
    # own keys are left out: _args_ and the like are refused.
    given = dict(node) if decay_steps is None else {**node, "decay_steps": decay_steps}
    values = {
        scheduler_key(prefix, name): _field_value(
            document, prefix, name, name, value, _item(where, name) if name in node else None
        )
        for name, value in given.items()
        if name not in _BUILDER_KEYS
    }
    if decay_steps is not None and node.get("decay_steps") is not None:
        where_saved = _item(where, "decay_steps")
        saved = _field_value(
            document, prefix, "decay_steps", "decay_steps", node["decay_steps"], where_saved
        )
        if saved is not None and as_number(saved) != as_number(decay_steps):
            passed = "passed to load_schedule"
            raise run_length_conflict(prefix, saved, decay_steps, "decay_steps", passed)
    values = scheduler_fields(values, prefix)
    return Schedule(
        SchedulerConfig(**values), field_prefix=prefix, run_steps=run_steps, resume_step=resume_step
    )


def _read(data: Any, key: tuple[str, ...], elide: bool) -> tuple[Any, tuple[Any, ...]]:
    """``(document, path)``: the config as plain Python data, nothing resolved, imported or
    called, and where ``data`` stands in it (a ``DictConfig`` node is read with its whole
    config, so that its interpolations resolve as ``instantiate`` resolves them). YAML text
    is read without building a list longer than ``MAX_COUNT`` if ``elide``: refused under
    ``key``, the schedule's node, and an ``Elided`` elsewhere (:func:`.reading.read_yaml`)."""
    try:
        return _parse(data, key, elide)
    except RecursionError:
        raise ScheduleConfigError(
            "cannot read the config: it is nested too deeply to be a scheduler config"
        ) from None


def _parse(data: Any, key: tuple[str, ...], elide: bool) -> tuple[Any, tuple[Any, ...]]:
    if isinstance(data, DictConfig):
        full_key = data._get_full_key(None)
        root = data._get_root()
        path = tuple(split_key(full_key)) if full_key else ()
        return OmegaConf.to_container(root, resolve=False), path
    if isinstance(data, Mapping):
        return data, ()
    if isinstance(data, os.PathLike):
        data = Path(data).read_text(encoding="utf-8")
    if isinstance(data, str):
        return read_yaml(data, counted=key, elide=elide), ()  # no tag calls code
    raise TypeError(
        "load_schedule expects a mapping, a DictConfig, YAML text or a file path, "
        f"got {type(data).__name__}"
    )


def _select(document: Any, path: tuple[Any, ...]) -> tuple[Mapping[str, Any], Where]:
    """The mapping at ``path`` in ``document`` (the document itself if empty), and where it
    stands (an interpolation on the way is followed, as OmegaConf follows it)."""
    node, where = document, cast("Where", ())
    for depth, part in enumerate(path):
        key = ".".join(str(p) for p in path[: depth + 1])
        if not isinstance(node, Mapping) or part not in node:
            raise ScheduleConfigError(
                f"{key} is missing: the config has no {'.'.join(map(str, path))!r} node"
            )
        at, raw = _item(where, part), node[part]
        try:
            node, place = resolve(document, at, raw)
        except Unresolved as error:
            raise _refused("", key, raw, str(error)) from None
        where = place if is_interpolation(raw) else at
    if not isinstance(node, Mapping):
        what = repr(".".join(map(str, path))) if path else "the config"
        kind = "list" if isinstance(node, Elided) else type(node).__name__
        raise ScheduleConfigError(f"{what} is a {kind}, expected a mapping of scheduler fields")
    return node, where


def _item(where: Where, part: Any) -> Where:
    return None if where is None else (*where, part)


def _field_value(document: Any, prefix: str, where: str, name: str, value: Any, at: Where) -> Any:
    """The plain value of field ``name`` (at ``where``, standing at ``at``): one value, or a
    list or mapping of them for the fields that hold one, or, for ``stages``, a list of
    stages. Interpolations are resolved where they stand, as OmegaConf resolves them."""
    value, at = _resolved(prefix, where, value, document, at)
    if isinstance(value, (list, tuple)) and len(value) > MAX_COUNT:  # before any item
        raise too_many(prefix, where, len(value), "items")
    if name in _LIST_FIELDS and isinstance(value, (list, tuple)):
        return [
            _scalar(document, prefix, f"{where}[{i}]", item, _item(at, i))
            for i, item in enumerate(value)
        ]
    if name == "stages" and isinstance(value, (list, tuple)):
        return [
            _stage(document, prefix, f"{where}[{i}]", item, _item(at, i))
            for i, item in enumerate(value)
        ]
    if name == "units" and isinstance(value, Mapping):
        return _units(document, prefix, where, value, at)
    if name in _MAPPING_FIELDS and isinstance(value, Mapping):
        return {
            key: _scalar(document, prefix, f"{where}.{key}", item, _item(at, key))
            for key, item in value.items()
        }
    return _single(prefix, where, value)


def _stage(document: Any, prefix: str, where: str, stage: Any, at: Where) -> dict[str, Any]:
    """One stage: a mapping of stage fields to single values (``shape_params``: a mapping)."""
    stage, at = _resolved(prefix, where, stage, document, at)
    if not isinstance(stage, Mapping):
        raise _refused(prefix, where, stage, "expected a mapping of stage fields")
    return {
        key: _field_value(document, prefix, f"{where}.{key}", key, value, _item(at, key))
        for key, value in stage_fields(prefix, where, stage).items()
    }


def _units(document: Any, prefix: str, where: str, node: Any, at: Where) -> dict[str, Any]:
    """The ``units`` node: a mapping of its fields to single values, ``ramp`` a list of
    ``[point, batch_size]`` lists of single values; any other key (``_target_``) refused."""
    units: dict[str, Any] = {}
    for key, value in node.items():
        if key not in UNIT_FIELDS:
            raise unknown_field(f"{prefix}{where}.", key, UNIT_FIELDS, "units")
        place = f"{where}.{key}"
        value, here = _resolved(prefix, place, value, document, _item(at, key))
        if key == "ramp" and isinstance(value, (list, tuple)):
            pairs = []
            for i, pair in enumerate(value):
                pair, there = _resolved(prefix, f"{place}[{i}]", pair, document, _item(here, i))
                if not isinstance(pair, (list, tuple)):
                    raise _refused(prefix, f"{place}[{i}]", pair, "expected [point, batch_size]")
                pairs.append(
                    [
                        _scalar(document, prefix, f"{place}[{i}][{j}]", item, _item(there, j))
                        for j, item in enumerate(pair)
                    ]
                )
            units[key] = pairs
        else:
            units[key] = _single(prefix, place, value)
    return units


def _resolved(prefix: str, name: str, value: Any, document: Any, at: Where) -> tuple[Any, Where]:
    """``(value, where it stands)``: ``value`` with its interpolation resolved (a container
    keeps its own place: ``milestones: ${run.ms}`` stands at ``run.ms``)."""
    try:
        resolved, place = resolve(document, at, value)
    except Unresolved as error:
        raise _refused(prefix, name, value, str(error)) from None
    if isinstance(resolved, Elided):  # a list of more items than any field holds, unbuilt
        raise too_many(prefix, name, resolved.count, "items")
    return resolved, place if is_interpolation(value) else at


def _scalar(document: Any, prefix: str, name: str, value: Any, at: Where) -> Any:
    """The plain value of field ``name``: one value, its interpolation resolved."""
    return _single(prefix, name, _resolved(prefix, name, value, document, at)[0])


def _single(prefix: str, name: str, value: Any) -> Any:
    """``value``, resolved, if it is one value (a number, string, boolean or null)."""
    if isinstance(value, (Mapping, list, tuple)):
        raise ScheduleConfigError(
            f"{prefix}{name} is refused: it holds a nested {type(value).__name__}, but a "
            "scheduler field holds one value; instantiate would recurse into it and call "
            "any _target_ inside",
            field=name,
        )
    if as_number(value) is not None:  # NumPy and JAX scalars too
        return value
    if not isinstance(value, _SCALARS):
        raise _refused(prefix, name, value, "expected a number, string, boolean or null")
    if value == _MISSING:
        raise ScheduleConfigError(
            f"{prefix}{name} is missing (???): set it in the config", field=name
        )
    return value


def _refused(prefix: str, name: str, value: Any, why: str) -> ScheduleConfigError:
    return ScheduleConfigError(f"{prefix}{name}={show(value)} is refused: {why}", field=str(name))
