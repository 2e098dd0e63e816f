"""Reading the YAML ipfund is given (policy files, policy case files): YAML's safe loader — libyaml's C
one where it is installed, about nine times faster on the policy file — that refuses a key given twice in
one mapping, where plain YAML keeps the last (a parameter pasted twice would silently override the
first). Errors carry the line and column."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import yaml

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc]
    pass


def _no_duplicates(loader: Any, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor` may be overridden key by key
            continue
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, Hashable):
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark, f"key {key!r} is given twice", key_node.start_mark)
            seen.add(key)
    return dict(loader.construct_mapping(node, deep=True))


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def read_yaml(text: str) -> Any:
    """The document in ``text``; raises ``yaml.YAMLError`` (see :func:`yaml_problem`)."""
    return yaml.load(text, Loader=_Loader)  # a safe loader: no arbitrary objects


def yaml_problem(exc: yaml.YAMLError) -> str:
    """``line L, column C: not valid YAML (what)`` for an error of :func:`read_yaml`."""
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "?"
    return f"{where}: not valid YAML ({getattr(exc, 'problem', None) or exc})"
