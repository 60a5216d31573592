"""OmegaConf's interpolations, resolved over plain data as OmegaConf resolves them, with no
resolver run.

A value that holds ``${`` is parsed by OmegaConf's own grammar and visited by OmegaConf's own
visitor, so that escapes (``\\${x}``), embedded interpolations (``"1e-${x}"``, a string),
keys in brackets or built by interpolation (``${a[b]}``, ``${a.${k}}``) and every syntax error
read exactly as OmegaConf reads them. Only the two callbacks are this module's:

- a node interpolation (``${a.b}``, ``${.sibling}``, ``${..a.b}``) is looked up in the plain
  data, following OmegaConf's rules: an absolute key from the top of the document, a relative
  one from the container of the value that holds it (each further dot one container up); an
  interpolation met on the way is resolved where it stands; ``???`` on the way is missing; a
  reference to a container that holds the value, or a chain that comes back to itself, is an
  error;
- a resolver (``${name:...}``) is refused, naming it: a resolver is code registered in the
  reader's process (many projects register ``eval``), and ``oc.env`` would read the reader's
  environment, not the run's. The two exceptions are OmegaConf's own resolvers that only read
  the config: ``oc.decode``, its parser of a string (``${oc.decode:${run.lr_text}}``), and
  ``oc.select``, a node interpolation with a default (``${oc.select:run.warmup,10}``: the
  default where the key is absent or missing, ``null`` without one), each evaluated here as
  OmegaConf evaluates it. Arguments are resolved first, so ``${oc.decode:${oc.env:LR}}`` is
  refused naming ``oc.env``.

A value's *path* is where it stands in the document: a tuple of keys and list indices from the
top. A container reached through an interpolation keeps its own path, so the interpolations
inside it are resolved where they stand, as OmegaConf resolves them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from omegaconf._utils import _get_value, split_key
from omegaconf.errors import GrammarParseError, InterpolationResolutionError
from omegaconf.grammar_parser import parse
from omegaconf.grammar_visitor import GrammarVisitor

from hydra_optax_schedules.loading.reading import Elided

__all__ = ["MAX_CHAIN", "Container", "InsideElided", "Unresolved", "is_interpolation", "resolve"]

Path = tuple[Any, ...]
#: The longest chain of interpolations followed from one value (each refers to the next).
MAX_CHAIN = 64
_MISSING = "???"
#: The resolvers evaluated: OmegaConf's own, which read the config and run no code of the
#: process (its grammar, and its node lookup).
_DECODE = "oc.decode"
_SELECT = "oc.select"


class Unresolved(Exception):
    """The value cannot be resolved; ``str(error)`` says why, for the message that names it."""


class _Absent(Unresolved):
    """A node interpolation refers to a key the config does not have, or to a missing value:
    what ``oc.select`` replaces by its default."""


class InsideElided(Exception):
    """The value selects an item of a list that was read unbuilt (an ``Elided``): only the
    whole document, read with its long lists built, resolves it."""


@dataclass(frozen=True)
class Container:
    """A mapping or a list reached by an interpolation, and its path (``None``: built by
    ``oc.decode``, in no place of the document)."""

    value: Any
    path: Path | None

    def __str__(self) -> str:  # as OmegaConf shows a container inside a string
        return str(self.value)


def is_interpolation(value: Any) -> bool:
    """Whether OmegaConf reads ``value`` as an interpolation: a string that holds ``${``."""
    return isinstance(value, str) and "${" in value


def resolve(document: Any, path: Path | None, value: Any) -> tuple[Any, Path | None]:
    """``(value, path)``: ``value``, standing at ``path`` in ``document``, resolved as OmegaConf
    resolves it; a container comes with its own path, every other value with ``None``.

    Raises:
        Unresolved: The value refers to nothing, to a missing value, to a container that
            holds it or, in a chain, to itself; it calls a resolver; or OmegaConf would not
            parse it.
        InsideElided: It selects an item of a list read unbuilt.
    """
    if not is_interpolation(value):
        return value, None
    if path is None:
        raise Unresolved(
            "an interpolation in a value that stands nowhere in the config (built by "
            "oc.decode, or passed as a keyword) is not read"
        )
    result = _Resolution(document, path, frozenset()).run(value)
    if isinstance(result, Container):
        return result.value, result.path
    return result, None


class _Resolution:
    """The resolution of one value, standing at ``path``, that holds an interpolation."""

    def __init__(self, document: Any, path: Path, chain: frozenset[Path]) -> None:
        if path in chain:
            raise Unresolved("the interpolations refer to each other in a cycle")
        if len(chain) >= MAX_CHAIN:
            raise Unresolved(f"more than {MAX_CHAIN} interpolations refer to each other in turn")
        self.document = document
        self.path = path
        self.chain = chain | {path}
        self.visitor = GrammarVisitor(
            node_interpolation_callback=lambda key, memo: self.node(key),
            resolver_interpolation_callback=self.resolver,
            memo=None,
        )

    def run(self, text: str, rule: str = "configValue", mode: str = "DEFAULT_MODE") -> Any:
        try:
            return self.visitor.visit(parse(text, parser_rule=rule, lexer_mode=mode))
        except (GrammarParseError, InterpolationResolutionError) as error:
            raise Unresolved(f"OmegaConf does not read it ({error})") from None

    def node(self, key: str) -> Any:
        """The value that node interpolation ``${key}`` refers to."""
        base = self.path[:-1]  # the container of the value being resolved
        rest = key
        if rest.startswith("."):
            rest = rest[1:]
            while rest.startswith("."):
                if not base:
                    raise Unresolved(f"${{{key}}} goes above the top of the config")
                base, rest = base[:-1], rest[1:]
        else:
            base = ()
        found: Any = Container(_at(self.document, base), base)
        parts = split_key(rest) if rest else []
        for depth, part in enumerate(parts):
            if found.path is None:
                raise Unresolved(f"${{{key}}} selects in a value built by {_DECODE}")
            where = (*found.path, *_index(found.value, part, key))
            item = found.value[where[-1]]
            if item == _MISSING:
                raise _Absent(f"${{{key}}} refers to a missing value (???)")
            found = self._follow(item, where)
            if depth < len(parts) - 1 and isinstance(found, Elided):
                raise InsideElided(key)
            if depth < len(parts) - 1 and not isinstance(found, Container):
                raise _Absent(f"${{{key}}}: {'.'.join(parts[: depth + 1])} is not a container")
        if isinstance(found, Container) and found.path == self.path[: len(found.path or ())]:
            raise Unresolved(f"${{{key}}} refers to a container that holds it")
        return found

    def _follow(self, item: Any, where: Path) -> Any:
        """``item`` (at ``where``) as its value: a container, or a resolved single value."""
        if isinstance(item, (Mapping, list, tuple)):  # a tuple: from a Python mapping
            return Container(item, where)
        if is_interpolation(item):
            return _Resolution(self.document, where, self.chain).run(item)
        return item

    def resolver(self, name: str, args: tuple[Any, ...], args_str: tuple[str, ...]) -> Any:
        if name == _SELECT:
            return self.select(args, args_str)
        if name != _DECODE:
            environment = "; oc.env reads this machine's environment, not the run's"
            environment = environment if name == "oc.env" else ""
            raise Unresolved(
                f"it calls the resolver {name!r}, and load_schedule runs no resolver but "
                f"{_DECODE} and {_SELECT} (a resolver is code registered in this "
                f"process{environment}): write the value instead"
            )
        if len(args) != 1 or not (args[0] is None or isinstance(args[0], str)):
            raise Unresolved(f"{_DECODE} takes one string, got {', '.join(args_str) or 'none'}")
        if args[0] is None:
            return None
        decoded = _get_value(self.run(args[0], rule="singleElement", mode="VALUE_MODE"))
        if isinstance(decoded, (Mapping, list)):
            return Container(decoded, None)
        return decoded

    def select(self, args: tuple[Any, ...], args_str: tuple[str, ...]) -> Any:
        """``${oc.select:key,default}``: the value at ``key`` (as ``${key}`` finds it), or
        ``default`` (``None`` if not given) where the config has no such key or its value is
        missing (``???``)."""
        if not 1 <= len(args) <= 2 or not isinstance(args[0], str):
            given = ", ".join(args_str) or "none"
            raise Unresolved(f"{_SELECT} takes a key and an optional default, got {given}")
        try:
            return self.node(args[0])
        except _Absent:
            return args[1] if len(args) == 2 else None


def _at(document: Any, path: Path) -> Any:
    """The value at ``path``, a path of containers found earlier."""
    value = document
    for part in path:
        value = value[part]
    return value


def _index(container: Any, part: str, key: str) -> tuple[Any]:
    """``(part,)`` as the key or index of an item of ``container``, as OmegaConf selects it."""
    if isinstance(container, Mapping) and part in container:
        return (part,)
    if isinstance(container, (list, tuple)):
        try:
            index = int(part)
        except ValueError:
            raise _Absent(f"${{{key}}}: {part!r} is not an index of a list") from None
        if 0 <= index < len(container):
            return (index,)
    hint = (
        ""
        if key.startswith(".")
        else (
            " (an absolute interpolation is looked up from the top of the data given to "
            "load_schedule: pass the whole config and key=...)"
        )
    )
    raise _Absent(f"the config has no key {key!r}{hint}")
