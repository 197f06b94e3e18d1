"""Reading configuration and detectors documents: YAML text → frozen models, every error placed.

Every error names its key path and its line and column in the file; the
reference checks (a detector naming one that does not exist, a route naming
no detector) run in the same pass as the schema, so one run reports them all.
The models themselves are ``monitor.config``.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Union

from pydantic import BaseModel, ValidationError

from detectors.registry import KINDS, reference_problems
from monitor.config import DetectorsDocument, WirewatchConfig
from monitor.errors import ConfigError
from monitor.routing import route_problems
from monitor.yamlsource import YamlDocument, format_path, load_yaml


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> WirewatchConfig:
    """Read and validate a config file; raise ``ConfigError`` listing every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), [f"cannot read the file: {exc.strerror or exc}"]) from exc
    config = parse_config(text, source=str(path), env=env)
    if config.detectors_file is None:
        return config
    file = path.parent / config.detectors_file
    try:
        document = load_detectors(file)
    except ConfigError as exc:
        issues = [i if i.startswith(str(file)) else f"{file}: {i}" for i in exc.issues]
        raise ConfigError(f"{path}: detectors_file", issues) from None
    # the file's detectors become this config's, as if written inline
    merged = config.model_copy(
        update={"entities": document.entities, "detectors": document.detectors, "detectors_file": None}
    )
    problems = route_problems(merged.routes, merged.detectors)
    if problems:  # the routes name detectors of the file: checked now, reported at this file's lines
        raise ConfigError(str(path), _placed(problems, load_yaml(text, str(path), env)))
    return merged


def parse_config(
    text: str, source: str = "<config>", env: Mapping[str, str] | None = None
) -> WirewatchConfig:
    """Validate YAML text; errors are ``source:line:col: key.path: message``."""
    doc = load_yaml(text, source, env)
    if doc.problems:
        raise ConfigError(source, [f"{source}:{p}" for p in doc.problems])
    data = {} if doc.data is None else doc.data
    if not isinstance(data, dict):
        raise ConfigError(source, [f"{source}:1:1: the document must be a mapping of sections"])
    return _validate(WirewatchConfig, doc)


def parse_detectors(text: str, source: str = "<detectors>") -> DetectorsDocument:
    """Validate a detectors document (``version``, ``entities``, ``detectors``); errors name key and line."""
    doc = load_yaml(text, source, {})
    if doc.problems:
        raise ConfigError(source, [f"{source}:{p}" for p in doc.problems])
    if doc.data is None or not isinstance(doc.data, dict):
        raise ConfigError(source, [f"{source}:1:1: the document must be a mapping with `detectors:`"])
    return _validate(DetectorsDocument, doc)


def load_detectors(path: str | Path) -> DetectorsDocument:
    """A detectors document from a file: either a detectors document or a whole `wirewatch.yaml`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), [f"cannot read the file: {exc.strerror or exc}"]) from exc
    doc = load_yaml(text, str(path), None)
    if isinstance(doc.data, dict) and set(doc.data) - {"version", "entities", "detectors"}:
        return parse_config(text, str(path)).detectors_document()
    return parse_detectors(text, str(path))


def detectors_from_data(data: Any, source: str) -> DetectorsDocument:
    """A detectors document from already parsed data (the control topic): the same checks as a file."""
    doc = YamlDocument(source=source, data=data)
    return _validate(DetectorsDocument, doc)


M = typing.TypeVar("M", WirewatchConfig, DetectorsDocument)


def _validate(model: type[M], doc: YamlDocument) -> M:
    """The model from the document, or a ``ConfigError`` with every problem at its key and line."""
    data = {} if doc.data is None else doc.data
    try:
        result = model.model_validate(data)
    except ValidationError as exc:
        # another section's errors must not hide a dangling reference among the detectors
        late = _placed(_reference_problems_of_parsed_detectors(data), doc)
        raise ConfigError(doc.source, describe_errors(exc, doc, model) + late) from None
    problems = reference_problems(result.detectors, result.entities)
    if isinstance(result, WirewatchConfig) and result.detectors_file is None:
        problems += route_problems(result.routes, result.detectors)  # else checked once the file is read
    if problems:
        raise ConfigError(doc.source, _placed(problems, doc))
    return result


def _reference_problems_of_parsed_detectors(data: Any) -> list[tuple[tuple[str | int, ...], str]]:
    """The detectors' reference checks, when their sections validate on their own (another may not)."""
    if not isinstance(data, dict):
        return []
    try:
        part = DetectorsDocument.model_validate({k: data[k] for k in ("entities", "detectors") if k in data})
    except ValidationError:
        return []  # their own schema errors are in the report already
    return reference_problems(part.detectors, part.entities)


def _placed(problems: list[tuple[tuple[str | int, ...], str]], doc: YamlDocument) -> list[str]:
    """``file:line:col: key.path: message`` for each problem found after validation."""
    lines = []
    for path, message in problems:
        line, col = doc.where(path) or (1, 1)
        lines.append(f"{doc.source}:{line}:{col}: {format_path(path)}: {message}")
    return lines


def describe_errors(exc: ValidationError, doc: YamlDocument, model: type[BaseModel]) -> list[str]:
    """Turn pydantic errors into ``file:line:col: key.path: message`` lines."""
    lines = []
    for error in exc.errors(include_url=False):
        path = _data_path(doc.data, error["loc"])
        line, col = doc.where(path) or (1, 1)
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown key"
            allowed = _field_names(model, doc.data, path[:-1])
            close = difflib.get_close_matches(str(path[-1]), allowed, n=1)
            if close:
                message += f" (did you mean {close[0]!r}?)"
            elif allowed:
                message += f"; allowed here: {', '.join(sorted(allowed))}"
        elif error["type"] == "missing":
            message = "required key is missing"
        elif error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            tag = error.get("ctx", {}).get("discriminator", "'kind'").strip("'")
            path = (*path, tag)
            line, col = doc.where(path) or (line, col)
            expected = error.get("ctx", {}).get("expected_tags") or ", ".join(map(repr, KINDS))
            message = (
                f"unknown {tag} {error.get('ctx', {}).get('tag')!r}; one of: {expected}"
                if error["type"] == "union_tag_invalid"
                else f"required key is missing (one of: {expected})"
            )
        lines.append(f"{doc.source}:{line}:{col}: {format_path(path)}: {message}")
    return lines


def _data_path(data: Any, loc: tuple[int | str, ...]) -> tuple[str | int, ...]:
    """Map a pydantic error location onto the document, dropping union tags."""
    path: list[str | int] = []
    node = data
    for index, part in enumerate(loc):
        child = _child(node, part)
        if child is not _ABSENT:
            node = child
            path.append(part)
        elif index == len(loc) - 1:
            path.append(part)  # a missing or extra key: name it
        # otherwise a tag pydantic inserts (union member, validator name): skip it
    return tuple(path)


_ABSENT = object()


def _child(node: Any, part: str | int) -> Any:
    """``node[part]`` if the document has it, else ``_ABSENT``."""
    if isinstance(node, dict):
        return node.get(part, _ABSENT)
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return _ABSENT


def _field_names(model: type[BaseModel], data: Any, path: tuple[str | int, ...]) -> list[str]:
    """Names of the fields allowed at ``path`` (for "did you mean" hints)."""
    current: Any = model
    node = data
    for part in path:
        node = _child(node, part)
        current = _unwrap(current, node)
        if isinstance(part, str) and isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(part)
            current = field.annotation if field else None
    current = _unwrap(current, node)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(annotation: Any, node: Any) -> Any:
    """Strip Optional/tuple/list/Annotated, and pick a union member by the data's `kind`."""
    for _ in range(8):
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (tuple, list):
            if isinstance(node, list):
                return annotation  # the caller indexes into the list next
            annotation = typing.get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            kind = node.get("kind") if isinstance(node, dict) else None
            models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
            chosen = [
                m
                for m in models
                if m.model_fields.get("kind") and kind in typing.get_args(m.model_fields["kind"].annotation)
            ]
            annotation = (chosen or models or members)[0]
        else:
            return annotation
    return annotation
