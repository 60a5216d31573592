"""Build a schedule from a config you did not write, without running anything it names.

``hydra.utils.instantiate`` imports and calls whatever a config's ``_target_`` names, at every
level of the config (a ``_target_`` nested in any field is called first), and resolves
``${name:...}`` interpolations by calling the resolvers registered in the process. On a config
read from a checkpoint or received from someone else, that runs their code.
:func:`load_schedule` reads such a config as plain data: it accepts no ``_target_`` but this
package's builder, no nested nodes and no resolvers, and never imports or calls anything the
data names. It does not use Hydra at all.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf

from hydra_optax_schedules.config.coerce import scheduler_fields, scheduler_key, stage_fields
from hydra_optax_schedules.config.schema import SchedulerConfig
from hydra_optax_schedules.errors import ScheduleConfigError
from hydra_optax_schedules.hydra_options import BUILDER_TARGET
from hydra_optax_schedules.messages import too_many
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
# A whole value that is ``${path.to.key}``: a reference to another key of the same document,
# looked up here. Anything else with ``${`` calls a resolver or builds a string, and is refused.
_NODE_REFERENCE = re.compile(r"\$\{([\w-]+(?:\.[\w-]+)*)\}")
_MAX_REFERENCE_CHAIN = 32
_MISSING = "???"


# libyaml's parser where PyYAML has it: the pure-Python one costs about 55 us per list item
# (a list of MAX_COUNT milestones, half a second), libyaml's about 6.
_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _YamlLoader(_SafeLoader):  # type: ignore[misc]
    """PyYAML's safe loader (no tag builds an object) that reads ``3e-4`` as a float.

    YAML 1.1 reads ``3e-4`` as a string; OmegaConf, and so Hydra, read it as a float. The
    pattern is OmegaConf's (``omegaconf._utils.get_yaml_loader``), so this loader reads a
    file's numbers as Hydra does. Aliases stay shared references, so a YAML "billion laughs"
    file parses in linear time (OmegaConf would expand it).
    """


_YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:
         [-+]?[0-9]+(?:_[0-9]+)*\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?[0-9]+(?:_[0-9]+)*(?:[eE][-+]?[0-9]+)
        |\.[0-9]+(?:_[0-9]+)*(?:[eE][-+][0-9]+)?
        |[-+]?[0-9]+(?:_[0-9]+)*(?::[0-5]?[0-9])+\.[0-9_]*
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def load_schedule(
    data: Mapping[str, Any] | DictConfig | str | os.PathLike[str],
    *,
    key: str | None = None,
    decay_steps: int | None = None,
) -> Schedule:
    """Build a schedule from a scheduler config read from a place you do not trust.

    Use it instead of ``hydra.utils.instantiate`` for a config saved in a checkpoint, a run's
    ``.hydra/config.yaml``, or a YAML file from someone else. The config is read as data:

    - ``_target_`` may be absent or one of :data:`TRUSTED_TARGETS`; any other value is
      refused (and never imported). ``_partial_`` is accepted and ignored; any other key
      that is not a ``SchedulerConfig`` field (``_args_``, ``_recursive_``, a typo) is refused.
    - Every field holds one value (a number, string, boolean or null), except ``milestones``
      and ``milestone_fractions`` (lists of such values) and ``stages`` (a list of mappings
      of stage fields to such values). Any other mapping or list is refused, and so is any
      key in a stage that is not a stage field (``_target_`` included): ``instantiate``
      would recurse into it and call any ``_target_`` inside.
    - YAML is parsed with PyYAML's safe loader: a tag such as ``!!python/object/apply`` is an
      error, not a call.
    - A value that is exactly ``${path.to.key}`` is looked up in the same document, as Hydra
      does (``decay_steps: ${trainer.max_steps}``). Every other interpolation is refused:
      ``${oc.env:HOME}`` and any ``${name:...}`` would call a resolver registered in your
      process (many projects register ``eval``), and relative or embedded interpolations
      (``${..x}``, ``"1e-${x}"``) are not needed by a scheduler config.
    - ``???`` (a mandatory value left unset) is reported as missing.

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
        decay_steps: The run length, if the saved config leaves it to runtime
            (``decay_steps: null``), like ``instantiate(cfg.scheduler, decay_steps=n)``.
            It replaces the saved value.

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
    document = _read(data)
    node = _select(document, key)
    prefix = f"{key}." if key else ""

    target = node.get("_target_")
    if "_target_" in node and target not in TRUSTED_TARGETS:
        raise ScheduleConfigError(
            f"{prefix}_target_={show(target)} is refused: a config from an untrusted source may "
            f"only name this package's builder ({' or '.join(TRUSTED_TARGETS)}); nothing was "
            "imported or called",
            field="_target_",
        )
    if not isinstance(node.get("_partial_", False), bool):
        raise _refused(prefix, "_partial_", node["_partial_"], "expected true or false")
    # In the document's order, each key checked before its value is read. Only the builder's
    # own keys are left out: _args_, _recursive_ and the like are refused.
    given = dict(node) if decay_steps is None else {**node, "decay_steps": decay_steps}
    values = {
        scheduler_key(prefix, name): _field_value(document, prefix, name, name, value)
        for name, value in given.items()
        if name not in ("_target_", "_partial_")
    }
    values = scheduler_fields(values, prefix)
    return Schedule(SchedulerConfig(**values), field_prefix=prefix)


def _read(data: Any) -> Any:
    """The config as plain Python data; nothing is resolved, imported or called."""
    try:
        return _parse(data)
    except RecursionError:
        raise ScheduleConfigError(
            "cannot read the config: it is nested too deeply to be a scheduler config"
        ) from None


def _parse(data: Any) -> Any:
    if isinstance(data, DictConfig):
        return OmegaConf.to_container(data, resolve=False)
    if isinstance(data, Mapping):
        return data
    if isinstance(data, os.PathLike):
        data = Path(data).read_text(encoding="utf-8")
    if isinstance(data, str):
        try:
            return yaml.load(data, Loader=_YamlLoader)  # a SafeLoader subclass: no tag calls code
        except yaml.YAMLError as error:
            raise ScheduleConfigError(
                f"cannot read the config: {error}; only plain YAML is read (no tags)"
            ) from None
        except ValueError as error:  # e.g. an integer of more digits than Python reads
            raise ScheduleConfigError(f"cannot read the config: {error}") from None
    raise TypeError(
        "load_schedule expects a mapping, a DictConfig, YAML text or a file path, "
        f"got {type(data).__name__}"
    )


def _select(document: Any, key: str | None) -> Mapping[str, Any]:
    """The mapping at the dotted ``key`` of ``document`` (the document itself if None)."""
    node = document
    if key:
        for depth, part in enumerate(key.split(".")):
            if not isinstance(node, Mapping) or part not in node:
                where = ".".join(key.split(".")[: depth + 1])
                raise ScheduleConfigError(f"{where} is missing: the config has no {key!r} node")
            node = node[part]
    if not isinstance(node, Mapping):
        what = f"{key!r}" if key else "the config"
        raise ScheduleConfigError(
            f"{what} is a {type(node).__name__}, expected a mapping of scheduler fields"
        )
    return node


class _LongList(list):  # type: ignore[type-arg]
    """A list of more than ``MAX_COUNT`` items in YAML text, left unread: only its length is
    kept (a long list elsewhere in a run's config costs nothing; here, it is refused)."""

    def __init__(self, length: int) -> None:
        super().__init__()
        self.length = length

    def __repr__(self) -> str:
        return f"<a list of {self.length} items>"


def _length(value: list[Any] | tuple[Any, ...]) -> int:
    return value.length if isinstance(value, _LongList) else len(value)


def _construct_list(loader: Any, node: Any) -> Any:
    """A YAML sequence, as PyYAML builds it; one of more than ``MAX_COUNT`` items unread."""
    if len(node.value) > MAX_COUNT:
        yield _LongList(len(node.value))
        return
    items: list[Any] = []
    yield items
    items.extend(loader.construct_sequence(node))


_YamlLoader.add_constructor("tag:yaml.org,2002:seq", _construct_list)


def _field_value(document: Any, prefix: str, where: str, name: str, value: Any) -> Any:
    """The plain value of field ``name`` (at ``where``): one value, or a list or mapping of
    them for the fields that hold one, or, for ``stages``, a list of stages."""
    if isinstance(value, (list, tuple)) and _length(value) > MAX_COUNT:  # before any item
        raise too_many(prefix, where, _length(value), "items")
    if name in _LIST_FIELDS and isinstance(value, (list, tuple)):
        return [_scalar(document, prefix, f"{where}[{i}]", item) for i, item in enumerate(value)]
    if name == "stages" and isinstance(value, (list, tuple)):
        return [_stage(document, prefix, f"{where}[{i}]", item) for i, item in enumerate(value)]
    if name in _MAPPING_FIELDS and isinstance(value, Mapping):
        return {
            key: _scalar(document, prefix, f"{where}.{key}", item) for key, item in value.items()
        }
    return _scalar(document, prefix, where, value)


def _stage(document: Any, prefix: str, where: str, stage: Any) -> dict[str, Any]:
    """One stage: a mapping of stage fields to single values (``shape_params``: a mapping)."""
    if not isinstance(stage, Mapping):
        raise _refused(prefix, where, stage, "expected a mapping of stage fields")
    return {
        key: _field_value(document, prefix, f"{where}.{key}", key, value)
        for key, value in stage_fields(prefix, where, stage).items()
    }


def _scalar(document: Any, prefix: str, name: str, value: Any) -> Any:
    """The plain value of field ``name``, with ``${a.b}`` references looked up in ``document``."""
    for _ in range(_MAX_REFERENCE_CHAIN):
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
        if not (isinstance(value, str) and "${" in value):
            return value
        reference = _NODE_REFERENCE.fullmatch(value)
        if reference is None:
            raise _refused(
                prefix,
                name,
                value,
                "only a whole-value reference to another key, such as ${trainer.max_steps}, "
                "is looked up; resolvers (${oc.env:...}, ${name:...}) would call code, and "
                "relative or embedded interpolations are not read",
            )
        value = _lookup(document, reference.group(1), prefix, name)
    raise _refused(prefix, name, value, "the interpolations refer to each other in a cycle")


def _lookup(document: Any, path: str, prefix: str, name: str) -> Any:
    node = document
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise ScheduleConfigError(
                f"{prefix}{name}=${{{path}}} is invalid: the document has no key {path!r} "
                "(interpolations are looked up from the top of the data given to "
                "load_schedule: pass the whole config and key=...)",
                field=name,
            )
        node = node[part]
    return node


def _refused(prefix: str, name: str, value: Any, why: str) -> ScheduleConfigError:
    return ScheduleConfigError(f"{prefix}{name}={show(value)} is refused: {why}", field=str(name))
