"""YAML loading that remembers where every key and list item stands in the file.

pydantic reports errors by key path (``feeds.2.interval``); users fix files by
line. ``load_yaml`` returns the plain data together with a map from key path to
(line, column), so a validation error can point at the exact spot. It also
rejects duplicate keys (YAML silently keeps the last one) and expands
``${VAR}`` / ``${VAR:-default}`` from the environment in string values, so
secrets never have to be written into the file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

Path = tuple[str | int, ...]

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass
class YamlDocument:
    """Parsed YAML data plus the 1-based (line, column) of every key path."""

    source: str
    data: Any
    positions: dict[Path, tuple[int, int]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def where(self, path: Path) -> tuple[int, int] | None:
        """Position of ``path`` or of its nearest ancestor that has one."""
        for cut in range(len(path), -1, -1):
            pos = self.positions.get(path[:cut])
            if pos is not None:
                return pos
        return None


def load_yaml(text: str, source: str, env: Mapping[str, str] | None = None) -> YamlDocument:
    """Parse one YAML document; syntax errors become ``problems`` with their line."""
    env = os.environ if env is None else env
    doc = YamlDocument(source=source, data=None)
    try:
        loader = yaml.SafeLoader(text)  # refuses control characters here, before any parsing
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        character = f"U+{exc.character:04X}"
        doc.problems.append(f"{line}:{column}: invalid YAML: control character {character} is not allowed")
        return doc
    try:
        node = loader.get_single_node()
        if node is not None:
            doc.positions[()] = _mark(node)
            doc.data = _build(loader, node, (), doc, env)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{mark.line + 1}:{mark.column + 1}: " if mark else ""
        doc.problems.append(f"{where}invalid YAML: {exc.problem or exc.context}")
    except yaml.YAMLError as exc:  # e.g. a control character later in the stream
        doc.problems.append(f"1:1: invalid YAML: {exc}")
    finally:
        loader.dispose()
    return doc


def _mark(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _build(loader: yaml.SafeLoader, node: Node, path: Path, doc: YamlDocument, env: Mapping[str, str]) -> Any:
    if isinstance(node, MappingNode):
        loader.flatten_mapping(node)  # resolves `<<:` merge keys
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            child = (*path, key)
            if key in result:
                line, col = _mark(key_node)
                first = doc.positions.get(child, (0, 0))[0]
                doc.problems.append(
                    f"{line}:{col}: {format_path(child)}: duplicate key (first given on line {first})"
                )
                continue
            doc.positions[child] = _mark(key_node)
            result[key] = _build(loader, value_node, child, doc, env)
        return result
    if isinstance(node, SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            child = (*path, index)
            doc.positions[child] = _mark(item)
            items.append(_build(loader, item, child, doc, env))
        return items
    assert isinstance(node, ScalarNode)
    value = loader.construct_object(node, deep=True)
    if isinstance(value, str) and "${" in value:
        value = _expand(value, path, node, doc, env)
    return value


def _expand(value: str, path: Path, node: Node, doc: YamlDocument, env: Mapping[str, str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        line, col = _mark(node)
        doc.problems.append(f"{line}:{col}: {format_path(path)}: environment variable {name} is not set")
        return ""

    return _ENV_REF.sub(substitute, value)


def format_path(path: Path) -> str:
    """``('feeds', 2, 'url')`` → ``feeds[2].url``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"
