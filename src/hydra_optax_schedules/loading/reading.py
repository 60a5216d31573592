"""YAML text read as OmegaConf (and so Hydra) reads it, and nothing more.

The loader is OmegaConf's (``omegaconf._utils.get_yaml_loader``), rule for rule: PyYAML's safe
loader (no tag builds an object), ``3e-4`` read as a float (YAML 1.1 reads it as a string),
dates left as strings, ``pathlib`` paths built from their tags (OmegaConf writes them so), and a
key set twice in one mapping refused. Two differences, both refusals named where OmegaConf's
would not be: an integer of more digits than Python reads names its key, and a duplicate key
names its path and both lines. Aliases stay shared references, so a YAML "billion laughs" file
is read in linear time (OmegaConf would expand it).
"""

from __future__ import annotations

import pathlib
import re
from typing import Any

import yaml

from hydra_optax_schedules.errors import ScheduleConfigError

__all__ = ["read_yaml"]

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
#: An integer scalar shorter than this is always read (Python's limit is >= 640 digits).
_SHORT = 640


#: libyaml's parser where PyYAML has it: the pure-Python one costs about 55 us per list item
#: (a list of MAX_COUNT milestones, half a second), libyaml's about 6.
_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeLoader):  # type: ignore[misc]
    """PyYAML's safe loader with OmegaConf's rules (see the module's docstring)."""


_Loader.add_implicit_resolver(
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
_Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _Loader.yaml_implicit_resolvers.items()
}


def _path_constructor(cls: type[pathlib.PurePath]) -> Any:
    def construct(loader: _Loader, node: yaml.SequenceNode) -> pathlib.PurePath:
        return cls(*loader.construct_sequence(node))

    return construct


for _path_class in (pathlib.Path, pathlib.PosixPath, pathlib.WindowsPath):
    _Loader.add_constructor(
        f"tag:yaml.org,2002:python/object/apply:pathlib.{_path_class.__name__}",
        _path_constructor(_path_class),
    )


def read_yaml(text: str) -> Any:
    """The data of YAML (or JSON) ``text``.

    Raises:
        ScheduleConfigError: The text is not YAML that OmegaConf reads, sets a key twice, or
            holds an integer of more digits than Python reads (the message names the key).
    """
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check(loader, node)
        return loader.construct_document(node)
    except ScheduleConfigError:
        raise
    except yaml.YAMLError as error:
        raise ScheduleConfigError(
            f"cannot read the config: {error}; only plain YAML is read (no tags)"
        ) from None
    except (ValueError, TypeError) as error:  # e.g. a path tag holding a mapping
        raise ScheduleConfigError(f"cannot read the config: {error}") from None
    finally:
        loader.dispose()


def _check(loader: _Loader, root: yaml.Node) -> None:
    """Refuse a key set twice in a mapping (OmegaConf compares plain string keys, before
    ``<<`` merges) and an integer that Python cannot read, naming where each one is.

    Each node is visited once, however many aliases share it.
    """
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, str]] = [(root, "")]
    while stack:
        node, where = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            lines: dict[str, int] = {}
            for key, value in node.value:
                name = str(key.value) if isinstance(key, yaml.ScalarNode) else "<key>"
                path = f"{where}.{name}" if where else name
                if key.tag == _STR:
                    if key.value in lines:
                        raise ScheduleConfigError(
                            f"{path} is set twice in one mapping (lines {lines[key.value]} and "
                            f"{key.start_mark.line + 1}): OmegaConf and Hydra refuse a "
                            "duplicate key; keep one",
                            field=name,
                        )
                    lines[key.value] = key.start_mark.line + 1
                stack.append((value, path))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, f"{where}[{i}]") for i, item in enumerate(node.value))
        elif isinstance(node, yaml.ScalarNode) and node.tag == _INT and len(node.value) > _SHORT:
            _read_int(loader, node, where)


def _read_int(loader: _Loader, node: yaml.ScalarNode, where: str) -> None:
    try:
        loader.construct_yaml_int(node)
    except ValueError:
        digits = sum(c.isdigit() for c in node.value)
        name = where.rsplit(".", 1)[-1] or "the config"
        raise ScheduleConfigError(
            f"{where or 'the config'}=<an integer of {digits} digits> is invalid: more digits "
            f"than Python reads (line {node.start_mark.line + 1}), and more than any field "
            "holds",
            field=name,
        ) from None
