"""Turn plain data (a dict, JSON, a saved ``repr``) into a config dataclass, safely.

xlstm-jax's ``from_dict`` imports any module named in a string; a config read from a
checkpoint could run code that way. This parser only converts values to the field types
the caller's dataclass declares, and never imports or calls anything the data names.
"""

from __future__ import annotations

import ast
import dataclasses
import re
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeVar, Union, cast

from hydra_optax_schedules.errors import ScheduleConfigError
from hydra_optax_schedules.messages import missing_required, unknown_field
from hydra_optax_schedules.values import as_number, show

__all__ = ["parse_dataclass"]

ConfigT = TypeVar("ConfigT")
_NONE_STRINGS = ("None", "null")
#: A keyword set to an integer of more digits than Python reads (its limit is >= 640 digits).
_LONG_INTEGER = re.compile(r"(\w+)\s*=\s*[-+]?(\d{640,})")
#: What a message calls a field of these classes ("not a scheduler field").
_KINDS = {"UnitsConfig": "units", "SchedulerConfig": "scheduler", "StageConfig": "stage"}


def parse_dataclass(
    config_class: type[ConfigT],
    data: Any,
    *,
    strict_classname_parsing: bool = False,
    ignore_extensive_attributes: bool = True,
    none_to_zero_for_ints: bool = False,
) -> ConfigT:
    """Build ``config_class`` from a mapping or from a ``Name(field=value, ...)`` string."""
    if not (isinstance(config_class, type) and dataclasses.is_dataclass(config_class)):
        raise TypeError(f"config_class must be a dataclass type, got {config_class!r}")
    if isinstance(data, str):
        data = _parse_repr(config_class, data, strict_classname_parsing)
    if not isinstance(data, Mapping):
        raise ScheduleConfigError(
            f"cannot read a {config_class.__name__} from {type(data).__name__} {show(data)}: "
            "expected a mapping of field names to values"
        )
    return _build(config_class, data, "", ignore_extensive_attributes, none_to_zero_for_ints)


def _build(
    config_class: type[ConfigT],
    data: Mapping[str, Any],
    prefix: str,
    ignore_extensive_attributes: bool,
    none_to_zero_for_ints: bool,
) -> ConfigT:
    """``config_class`` from a mapping; ``prefix`` names where it sits (``"stages[1]."``)."""
    fields = {f.name: f for f in dataclasses.fields(cast(Any, config_class)) if f.init}
    # A field's "type" in its metadata: the type to read, where the annotation is wider.
    hints = typing.get_type_hints(config_class)
    hints |= {name: f.metadata["type"] for name, f in fields.items() if "type" in f.metadata}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in fields:
            if ignore_extensive_attributes:
                continue
            raise unknown_field(prefix, key, fields, _KINDS.get(config_class.__name__, "config"))
        # A field that defaults to None gives None a meaning of its own (cooldown_start: no
        # branched cooldown; a stage's steps: the rest): it is never read as 0.
        zero = none_to_zero_for_ints and fields[key].default is not None
        values[key] = _convert(f"{prefix}{key}", value, hints[key], zero)
    for name, declared in fields.items():
        no_default = declared.default is dataclasses.MISSING
        if no_default and declared.default_factory is dataclasses.MISSING and name not in values:
            raise missing_required(prefix, name)
    return config_class(**values)


def _parse_repr(config_class: type, text: str, strict: bool) -> dict[str, Any]:
    """Read ``Name(a=1, b='x')`` with literals only; the name is checked, never resolved."""
    try:
        call = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as error:
        too_long = _LONG_INTEGER.search(text)
        if too_long is not None and "digits" in str(error):
            name, digits = too_long.groups()
            raise ScheduleConfigError(
                f"{name}=<an integer of {len(digits)} digits> is invalid: more digits than "
                "Python reads, and more than any field holds",
                field=name,
            ) from None
        call = None
    if not (isinstance(call, ast.Call) and not call.args and isinstance(call.func, ast.Name)):
        raise ScheduleConfigError(
            f"cannot read a {config_class.__name__} from the string {show(text)}: "
            f"expected {config_class.__name__}(field=value, ...)"
        )
    if strict and call.func.id != config_class.__name__:
        raise ScheduleConfigError(
            f"the string names class {call.func.id!r}, expected {config_class.__name__!r}"
        )
    values: dict[str, Any] = {}
    for keyword in call.keywords:
        if keyword.arg is None:  # **mapping
            raise ScheduleConfigError(
                f"cannot read a {config_class.__name__} from {show(text)}: expected "
                "field=value arguments only"
            )
        try:
            values[keyword.arg] = _literal(keyword.value)
        except ValueError:
            raise ScheduleConfigError(
                f"{keyword.arg}: only literal values are read from a string, "
                f"got {show(ast.unparse(keyword.value))}",
                field=keyword.arg,
            ) from None
    return values


def _literal(node: ast.expr) -> Any:
    """A literal, where ``Name(key=literal, ...)`` (a nested config's ``repr``, such as a
    stage's) reads as the mapping of its keywords, and a NumPy scalar's ``repr`` under NumPy 2
    (``np.float64(0.1)``, ``np.True_``) as the Python value it holds: no name is resolved."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.args:
        return {keyword.arg: _literal(keyword.value) for keyword in node.keywords}
    numpy_scalar = _numpy_scalar(node)
    if numpy_scalar is not _NO_VALUE:
        return numpy_scalar
    if isinstance(node, (ast.Tuple, ast.List)):
        return [_literal(item) for item in node.elts]
    return ast.literal_eval(node)


#: The Python type of each NumPy scalar type, by its name, as NumPy 2 writes its ``repr``.
_NUMPY_SCALARS = {
    **{f"{kind}{bits}": int for kind in ("int", "uint") for bits in (8, 16, 32, 64)},
    **{f"float{bits}": float for bits in (16, 32, 64)},
    "longdouble": float,
    "bool": bool,
    "bool_": bool,
    "str_": str,
}


def _numpy_scalar(node: ast.expr) -> Any:
    """The value of ``np.<type>(<literal>)`` or ``np.True_`` / ``np.False_`` (``numpy.`` too),
    else ``_NO_VALUE``; the names are compared as text, never looked up."""
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in ("np", "numpy")
        and node.attr in ("True_", "False_")
    ):
        return node.attr == "True_"
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in ("np", "numpy")
        and node.func.attr in _NUMPY_SCALARS
        and len(node.args) == 1
        and not node.keywords
    ):
        return _NO_VALUE
    kind = _NUMPY_SCALARS[node.func.attr]
    text = ast.unparse(node.args[0])
    if kind is float and text in ("nan", "inf", "-inf"):  # np.float64(nan): a float's text
        return float(text)
    value = ast.literal_eval(node.args[0])
    if kind is float and isinstance(value, str):  # np.float64('nan'), np.longdouble('0.1')
        return float(value)
    if not isinstance(value, (int, float, bool, str)) or isinstance(value, bool) != (kind is bool):
        raise ValueError(node.func.attr)
    return kind(value)


def _convert(name: str, value: Any, annotation: Any, none_to_zero_for_ints: bool) -> Any:
    """Convert ``value`` to the field type ``annotation`` (scalars, tuples, mappings of
    scalars, and their Optional forms)."""
    is_union = typing.get_origin(annotation) in (Union, types.UnionType)
    allowed = typing.get_args(annotation) if is_union else (annotation,)
    optional = type(None) in allowed
    if value is None or (isinstance(value, str) and value in _NONE_STRINGS):
        if int in allowed and none_to_zero_for_ints:
            return 0
        if optional:
            return None
        raise ScheduleConfigError(f"{name}=None is invalid: the field is not optional", field=name)
    for kind in allowed:
        if kind in (int, float, str, bool):
            converted = _to_scalar(value, kind)
            if converted is not _NO_VALUE:
                return converted
        if typing.get_origin(kind) is Literal and value in typing.get_args(kind):
            return value  # cooldown_start: "resume"
    for kind in allowed:
        if isinstance(kind, type) and dataclasses.is_dataclass(kind):  # a nested node: units
            if isinstance(value, kind):
                return value
            if isinstance(value, Mapping):
                return _build(kind, value, f"{name}.", False, none_to_zero_for_ints)
        if typing.get_origin(kind) is tuple:
            return _items(name, value, typing.get_args(kind)[0], none_to_zero_for_ints)
        if typing.get_origin(kind) is dict and isinstance(value, Mapping):
            element = typing.get_args(kind)[1]
            return {
                str(key): _convert(f"{name}.{key}", item, element, none_to_zero_for_ints)
                for key, item in value.items()
            }
    expected = " or ".join(_type_name(kind) for kind in allowed)
    raise ScheduleConfigError(f"{name}={show(value)} is invalid: expected {expected}", field=name)


_NO_VALUE = object()


def _type_name(kind: Any) -> str:
    """``int``, ``NoneType``, ``'resume'`` (a ``Literal``'s values)."""
    if typing.get_origin(kind) is Literal:
        return " or ".join(repr(value) for value in typing.get_args(kind))
    return getattr(kind, "__name__", str(kind))


def _items(name: str, value: Any, element: Any, none_to_zero_for_ints: bool) -> tuple[Any, ...]:
    """A list (or tuple) of ``element`` values, as a tuple; a nested config from a mapping."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise ScheduleConfigError(f"{name}={show(value)} is invalid: expected a list", field=name)
    items = []
    for i, item in enumerate(value):
        where = f"{name}[{i}]"
        if isinstance(element, type) and dataclasses.is_dataclass(element):
            if isinstance(item, element):
                items.append(item)
                continue
            if not isinstance(item, Mapping):
                raise ScheduleConfigError(
                    f"{where}={show(item)} is invalid: expected a mapping of "
                    f"{element.__name__}'s fields",
                    field=where,
                )
            items.append(_build(element, item, f"{where}.", False, none_to_zero_for_ints))
        else:
            items.append(_convert(where, item, element, none_to_zero_for_ints))
    return tuple(items)


def _to_scalar(value: Any, kind: type) -> Any:
    """``value`` as ``kind`` if it is one or a string that reads as one; else ``_NO_VALUE``."""
    if kind is bool:
        if isinstance(value, bool):
            return value
        if value in ("true", "True", "false", "False"):
            return value in ("true", "True")
        return _NO_VALUE
    if isinstance(value, bool):  # True is an int to Python, never a number to a config
        return _NO_VALUE
    if kind is str:
        return value if isinstance(value, str) else _NO_VALUE
    if isinstance(value, str):
        try:
            return int(value) if kind is int else float(value)
        except ValueError:
            return _NO_VALUE
    number = as_number(value)  # NumPy and JAX scalars are numbers too
    if kind is int:
        return number if isinstance(number, int) else _NO_VALUE
    if number is None:
        return _NO_VALUE
    try:
        return float(number)
    except OverflowError:  # an int past 1.8e308
        return _NO_VALUE
