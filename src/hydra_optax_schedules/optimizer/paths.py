"""A parameter's path: its keys in the tree joined with ``"."`` (``"params.head.kernel"``).

The same string for plain dicts, flax linen (``params.Dense_0.kernel``), flax nnx states
(``layers.0.kernel``) and equinox modules (``layers.0.weight``): a dict key or attribute is
its name, a sequence index its number. A last attribute named ``value`` (the array inside a
flax ``Variable`` or a boxed ``nn.Partitioned``) is left out, so that a pattern such as
``kernel$`` reads the same for every library.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

__all__ = ["leaf_paths", "map_with_paths", "path_string"]


def path_string(path: tuple[Any, ...]) -> str:
    """The keys of a JAX key path joined with ``"."``."""
    keys = []
    for key in path:
        if isinstance(key, jax.tree_util.DictKey):
            keys.append(str(key.key))
        elif isinstance(key, jax.tree_util.SequenceKey):
            keys.append(str(key.idx))
        elif isinstance(key, jax.tree_util.GetAttrKey):
            keys.append(key.name)
        elif isinstance(key, jax.tree_util.FlattenedIndexKey):
            keys.append(str(key.key))
        else:
            keys.append(str(key))
    if len(path) > 1 and isinstance(path[-1], jax.tree_util.GetAttrKey) and keys[-1] == "value":
        keys.pop()
    return ".".join(keys)


def leaf_paths(tree: Any) -> list[str]:
    """The path of every leaf of ``tree``, in JAX's flattening order."""
    leaves, _ = jax.tree_util.tree_flatten_with_path(tree)
    return [path_string(path) for path, _ in leaves]


def map_with_paths(fn: Callable[[str], Any], tree: Any) -> Any:
    """``tree`` with each leaf replaced by ``fn(its path)``."""
    return jax.tree_util.tree_map_with_path(lambda path, _: fn(path_string(path)), tree)
