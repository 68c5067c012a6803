r"""Safe parsing of user-supplied JSON and YAML: bounded nesting, bounded YAML alias expansion, size limits.

Every document the register reads from a user (import bundles, policy files, triage answers, ``--set``
values on the command line) goes through :func:`load_json` or :func:`load_yaml`:

- nesting deeper than :data:`MAX_JSON_DEPTH` containers is refused (a 10,000-deep ``[[[...]]]`` would
  otherwise end in a ``RecursionError``);
- a YAML document whose aliases would expand to more than :data:`MAX_YAML_ALIAS_EXPANSION` extra nodes
  is refused *before* it is constructed: a 604-byte "billion laughs" (nine levels of nine aliases) fails
  at once instead of growing to gigabytes. Recursive aliases are refused too. Anchors and aliases used
  in moderation (a data card shared by a few systems) still work;
- files larger than :data:`MAX_DOCUMENT_BYTES` are refused before they are read (:func:`check_size`).

Each refusal is a :class:`~register.errors.ValidationFailed` whose message says what the limit is.

Examples
--------
>>> load_json('{"tags": ["a", "b"]}')
{'tags': ['a', 'b']}
>>> load_json("[" * 40 + "]" * 40)
Traceback (most recent call last):
...
register.errors.ValidationFailed: a JSON value must be nested at most 32 lists/mappings deep. Got a deeper ...
>>> load_yaml("base: &b {x: 1}\nother: *b")
{'base': {'x': 1}, 'other': {'x': 1}}
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

from register.errors import ValidationFailed

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_YAML_ALIAS_EXPANSION",
    "check_depth",
    "check_size",
    "load_json",
    "load_yaml",
    "nesting_depth",
]

MAX_JSON_DEPTH = 32
"""The deepest nesting of lists/mappings accepted in a JSON or YAML value (a bundle needs about 6)."""

MAX_YAML_ALIAS_EXPANSION = 100_000
"""How many nodes YAML aliases may add to a document once expanded (beyond the nodes written)."""

MAX_DOCUMENT_BYTES = 50 * 1024 * 1024
"""The largest file the register reads as one document (an import file, a policy file): 50 MB."""


def nesting_depth(value: object, *, limit: int = MAX_JSON_DEPTH) -> int:
    """Return how many lists/mappings deep ``value`` is nested (a scalar is 0), stopping past ``limit``.

    Iterative, so it never recurses however deep the value is; the count stops at ``limit + 1``.

    Examples
    --------
    >>> nesting_depth({"a": [1, {"b": "x"}]}), nesting_depth("text")
    (3, 0)
    """
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((child, depth) for child in children)
    return deepest


def _too_deep(what: str) -> ValidationFailed:
    return ValidationFailed(
        f"{what} must be nested at most {MAX_JSON_DEPTH} lists/mappings deep. Got a deeper value; flatten it."
    )


def check_depth(value: object, *, what: str = "a JSON value") -> object:
    """Return ``value`` if it is nested at most :data:`MAX_JSON_DEPTH` deep, else raise ValidationFailed."""
    depth = nesting_depth(value)
    if depth > MAX_JSON_DEPTH:
        raise _too_deep(what)
    return value


def load_json(text: str | bytes, *, what: str = "a JSON value") -> Any:
    """Parse JSON with bounded nesting (``json.JSONDecodeError`` for malformed text, a ValueError).

    Raises
    ------
    json.JSONDecodeError
        The text is not JSON.
    ValidationFailed
        Nested deeper than :data:`MAX_JSON_DEPTH` (or than the interpreter can parse).
    """
    try:
        value = json.loads(text)
    except RecursionError as exc:
        raise _too_deep(what) from exc
    return check_depth(value, what=what)


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader; :func:`load_yaml` checks the composed node graph before constructing it."""


def _graph_size(root: yaml.Node, what: str) -> tuple[int, int, int]:
    """Return (distinct nodes, nodes once aliases are expanded, nesting depth) of a composed document.

    Aliases make the graph a DAG: sizes and depths are computed once per node (memoised), so a
    billion-laughs graph of 100 nodes is measured in 100 steps. A node reachable from itself (a
    recursive alias) is refused.
    """
    expanded: dict[int, int] = {}
    depth: dict[int, int] = {}
    in_progress: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            children = _children(node)
            expanded[key] = 1 + sum(expanded[id(child)] for child in children)
            containers = isinstance(node, yaml.SequenceNode | yaml.MappingNode)
            depth[key] = int(containers) + max((depth[id(child)] for child in children), default=0)
            in_progress.discard(key)
            continue
        if key in expanded:
            continue
        if key in in_progress:
            raise ValidationFailed(f"{what} must not hold a recursive YAML alias. Got one; remove it.")
        in_progress.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in in_progress:
                raise ValidationFailed(f"{what} must not hold a recursive YAML alias. Got one; remove it.")
            if id(child) not in expanded:
                stack.append((child, False))
    return len(expanded), expanded[id(root)], depth[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def load_yaml(text: str, *, what: str = "a YAML document") -> Any:
    r"""Parse one YAML document safely: bounded nesting, bounded alias expansion, no recursive aliases.

    Raises
    ------
    yaml.YAMLError
        The text is not YAML (or holds several documents).
    ValidationFailed
        Too deep, an alias expansion beyond :data:`MAX_YAML_ALIAS_EXPANSION` nodes, or a recursive alias.

    Examples
    --------
    >>> bomb = "a: &a [x, x]\n" + "".join(
    ...     f"{chr(98 + n)}: &{chr(98 + n)} [{', '.join(['*' + chr(97 + n)] * 9)}]\n" for n in range(8))
    >>> load_yaml(bomb)
    Traceback (most recent call last):
    ...
    register.errors.ValidationFailed: a YAML document must not expand its aliases to more than 100000 ...
    """
    loader = _Loader(text)
    try:
        try:
            root = loader.get_single_node()
        except RecursionError as exc:
            raise _too_deep(what) from exc
        if root is None:
            return None
        distinct, expanded, depth = _graph_size(root, what)
        if expanded - distinct > MAX_YAML_ALIAS_EXPANSION:
            raise ValidationFailed(
                f"{what} must not expand its aliases to more than {MAX_YAML_ALIAS_EXPANSION} extra nodes. "
                f"Got {expanded - distinct:,} (a document of {distinct:,} nodes); write the values out "
                "instead of nesting aliases."
            )
        if depth > MAX_JSON_DEPTH:
            raise _too_deep(what)
        return loader.construct_document(root)
    finally:
        loader.dispose()


def check_size(path: str | os.PathLike[str], *, what: str = "an import file") -> None:
    """Raise ValidationFailed if the file at ``path`` is larger than :data:`MAX_DOCUMENT_BYTES`.

    A missing or unreadable file is left to the reader (which reports it in its own words).
    """
    try:
        size = Path(path).stat().st_size
    except OSError:
        return
    if size > MAX_DOCUMENT_BYTES:
        raise ValidationFailed(
            f"{what} must be at most {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB. Got {os.fspath(path)} of "
            f"{size / (1024 * 1024):.1f} MB; split it into several imports."
        )
