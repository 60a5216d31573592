"""YAML text read as OmegaConf (and so Hydra) reads it, and nothing more.

The loader is OmegaConf's (``omegaconf._utils.get_yaml_loader``), rule for rule: PyYAML's safe
loader (no tag builds an object), ``3e-4`` read as a float (YAML 1.1 reads it as a string),
dates left as strings, ``pathlib`` paths built from their tags (OmegaConf writes them so), and a
key set twice in one mapping refused. Two differences, both refusals named where OmegaConf's
would not be: an integer of more digits than Python reads names its key, and a duplicate key
names its path and both lines. Aliases stay shared references, so a YAML "billion laughs" file
is read in linear time (OmegaConf would expand it).

A list of more than ``MAX_COUNT`` items is not built: no scheduler config holds one, and
building it costs seconds and hundreds of MB per million items before anything can refuse it.
Under the schedule's node (``counted``) it is refused at its ``MAX_COUNT + 1``-th item, before
libyaml reads further; elsewhere (a run's own long list of data files) its items are skipped as
they are parsed, uncounted past the limit and unbuilt, and it reads as an :class:`Elided`,
which the loader refuses if the schedule refers to it (``milestones: ${run.ms}``).
"""

from __future__ import annotations

import pathlib
import re
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.events import CollectionEndEvent, CollectionStartEvent, SequenceEndEvent

from hydra_optax_schedules.errors import ScheduleConfigError
from hydra_optax_schedules.messages import too_many
from hydra_optax_schedules.values import MAX_COUNT

__all__ = ["Elided", "read_yaml"]

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
#: An integer scalar shorter than this is always read (Python's limit is >= 640 digits).
_SHORT = 640


#: libyaml's parser where PyYAML has it: the pure-Python one costs about 55 us per list item
#: (a list of MAX_COUNT milestones, half a second), libyaml's about 6.
_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Elided:
    """A list of ``count`` items, more than ``MAX_COUNT``, that was not built."""

    count: int

    def __str__(self) -> str:
        return f"<a list of {self.count} items>"


class _ElidedNode(yaml.SequenceNode):
    """Where a list too long to build stood, without its items: constructed as an
    :class:`Elided`."""

    def __init__(self, count: int, start_mark: Any, end_mark: Any) -> None:
        super().__init__("tag:yaml.org,2002:seq", [], start_mark, end_mark)
        self.count = count


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


class _CountingLoader(yaml.composer.Composer, _Loader):
    """``_Loader`` composing its nodes in Python over libyaml's events (PyYAML's own composer,
    the one of its pure-Python loader), so that a list too long is never built: read only
    when the text may hold one (:func:`_may_hold_a_long_list`).

    ``counted`` is the path of the schedule's node (``()``: the whole document).
    """

    def __init__(self, text: str, counted: tuple[str, ...]) -> None:
        _SafeLoader.__init__(self, text)
        self.anchors: dict[str, yaml.Node] = {}
        self._counted = counted
        self._path: list[Any] = []  # the keys and indices from the top to the node composed

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        # ``index``: a mapping's key node, a list's index, or None (the root or a key).
        self._path.append(index.value if isinstance(index, yaml.ScalarNode) else index)
        try:
            return super().compose_node(parent, index)
        finally:
            self._path.pop()

    def compose_sequence_node(self, anchor: Any) -> yaml.SequenceNode:
        """A list's node, as PyYAML composes it, or the node of an :class:`Elided` once it
        has ``MAX_COUNT + 1`` items."""
        start = self.get_event()
        tag = start.tag
        if tag is None or tag == "!":
            tag = self.resolve(yaml.SequenceNode, None, start.implicit)
        node = yaml.SequenceNode(tag, [], start.start_mark, None, flow_style=start.flow_style)
        if anchor is not None:
            self.anchors[anchor] = node
        while not self.check_event(SequenceEndEvent):
            if len(node.value) == MAX_COUNT:
                return self._elided(anchor, start.start_mark)
            node.value.append(self.compose_node(node, len(node.value)))
        node.end_mark = self.get_event().end_mark
        return node

    def _elided(self, anchor: Any, start_mark: Any) -> yaml.SequenceNode:
        """The list being composed, at its ``MAX_COUNT + 1``-th item: refused if it is under
        the schedule's node, else its items skipped (parsed, not built) and counted."""
        path = [str(part) for part in self._path[1:]]  # the root's index is None
        if path[: len(self._counted)] == list(self._counted):
            prefix, field = _field(path, len(self._counted))
            raise too_many(prefix, field, MAX_COUNT, "items", more_than=True)
        count, depth = MAX_COUNT, 0
        event = self.get_event()
        while depth or not isinstance(event, SequenceEndEvent):  # else the list's own end
            if isinstance(event, CollectionEndEvent):
                depth -= 1
            else:
                if depth == 0:  # an item: a scalar, an alias, or a list or mapping it opens
                    count += 1
                if isinstance(event, CollectionStartEvent):
                    depth += 1
            event = self.get_event()
        node = _ElidedNode(count, start_mark, event.end_mark)
        if anchor is not None:
            self.anchors[anchor] = node
        return node

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        if isinstance(node, _ElidedNode):
            return Elided(node.count)
        return super().construct_object(node, deep=deep)


def _field(path: list[str], counted: int) -> tuple[str, str]:
    """``(prefix, field)`` of the list at ``path`` for a message: ``("scheduler.",
    "units.ramp")``, a list index in brackets (``stages[0].x``)."""
    prefix = "".join(f"{part}." for part in path[:counted])
    field = ""
    for part in path[counted:]:
        field += f"[{part}]" if part.isdigit() and field else f".{part}" if field else part
    if not field:  # the schedule's node is itself the list
        prefix, field = "".join(f"{part}." for part in path[:-1]), path[-1] if path else ""
    return prefix, field


def _may_hold_a_long_list(text: str) -> bool:
    """Whether ``text`` may hold a list of more than ``MAX_COUNT`` items: each item of a list
    follows a ``-`` (block style), a ``[`` or a ``,`` (flow style and JSON), so a text with
    fewer of them holds none, and libyaml composes it whole (faster)."""
    return text.count("-") + text.count(",") + text.count("[") > MAX_COUNT


def read_yaml(text: str, *, counted: tuple[str, ...] = (), elide: bool = True) -> Any:
    """The data of YAML (or JSON) ``text``; a list of more than ``MAX_COUNT`` items reads as
    an :class:`Elided`, unbuilt.

    Args:
        text: The YAML.
        counted: The path of the schedule's node (``("scheduler",)``; ``()``: the whole text).
        elide: False: every list is built, whatever its length (libyaml's composer).

    Raises:
        ScheduleConfigError: The text is not YAML that OmegaConf reads, sets a key twice,
            holds an integer of more digits than Python reads (the message names the key), or
            a list of more than ``MAX_COUNT`` items under ``counted`` (refused at its
            ``MAX_COUNT + 1``-th item, naming its full key).
    """
    counting = elide and _may_hold_a_long_list(text)
    loader = _CountingLoader(text, counted) if counting else _Loader(text)
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
