"""Detector kinds keyed by the YAML ``kind:`` field.

Adding a kind is adding a module with a ``DetectorSpec`` subclass (whose
``kind`` is a ``Literal``) and one line here; configuration validation,
``wirewatch detectors kinds`` and the workers all read this mapping. Each
spec's docstring and field descriptions are its documentation.

Other packages add kinds without touching this one, through the
``wirewatch.detectors`` entry point group (name: the kind, value: the spec
class), e.g. in their ``pyproject.toml``::

    [project.entry-points."wirewatch.detectors"]
    geofence = "mypackage.geofence:GeofenceSpec"

A plugin that fails to load, or that would replace a built-in kind, is
skipped with a warning: the built-in kinds always work.
"""

from __future__ import annotations

import logging
import typing
from importlib.metadata import entry_points

from detectors.base import DetectorSpec, Severity
from detectors.burst import BurstSpec
from detectors.compose import AllSpec, AnySpec
from detectors.entity import EntityDef, EntitySpec
from detectors.keyword import KeywordSpec
from detectors.novelty import NoveltySpec
from detectors.semantic import SemanticSpec
from detectors.sequence import SequenceSpec

KINDS: dict[str, type[DetectorSpec]] = {
    "keyword": KeywordSpec,
    "semantic": SemanticSpec,
    "entity": EntitySpec,
    "sequence": SequenceSpec,
    "novelty": NoveltySpec,
    "burst": BurstSpec,
    "all": AllSpec,
    "any": AnySpec,
}
PLUGIN_GROUP = "wirewatch.detectors"

log = logging.getLogger(__name__)


def _plugin_kinds() -> dict[str, type[DetectorSpec]]:
    kinds: dict[str, type[DetectorSpec]] = {}
    for entry in entry_points(group=PLUGIN_GROUP):
        where = f"detector kind plugin {entry.name!r} ({entry.value})"
        try:
            spec = entry.load()
        except Exception as exc:  # a broken third-party package must not break the built-in kinds
            log.warning("%s: skipped, it failed to load: %s: %s", where, type(exc).__name__, exc)
            continue
        if not (isinstance(spec, type) and issubclass(spec, DetectorSpec)):
            log.warning("%s: skipped, it is not a DetectorSpec subclass", where)
        elif entry.name in KINDS or entry.name in kinds:
            log.warning("%s: skipped, the kind %r exists already", where, entry.name)
        elif typing.get_args(spec.model_fields["kind"].annotation) != (entry.name,):
            log.warning("%s: skipped, its `kind` field must be Literal[%r]", where, entry.name)
        else:
            kinds[entry.name] = spec
    return kinds


KINDS.update(_plugin_kinds())


Problem = tuple[tuple[str | int, ...], str]  # (path in the document, message)


def reference_problems(detectors: tuple[DetectorSpec, ...], entities: tuple[EntityDef, ...]) -> list[Problem]:
    """Dangling or circular references, each with the document path it is at."""
    problems: list[Problem] = []
    ids = {d.id: i for i, d in enumerate(detectors)}
    entity_ids = {e.id for e in entities}
    seen: set[str] = set()
    for i, e in enumerate(entities):
        if e.id in seen:
            problems.append((("entities", i, "id"), f"entity id {e.id!r} is used twice"))
        seen.add(e.id)
    for i, d in enumerate(detectors):
        for name in _REFS.get(d.kind, ()):
            value = getattr(d, name)
            if value is not None:
                if value not in ids:
                    problems.append((("detectors", i, name), f"no detector has the id {value!r}"))
                elif value == d.id:
                    problems.append((("detectors", i, name), "a detector cannot refer to itself"))
        if d.kind in ("all", "any"):
            for j, ref in enumerate(d.requires()):
                if ref not in ids:
                    problems.append((("detectors", i, "of", j), f"no detector has the id {ref!r}"))
        if isinstance(d, EntitySpec):
            for j, entity in enumerate(d.entities):
                if isinstance(entity, str) and entity not in entity_ids:
                    problems.append((("detectors", i, "entities", j), f"no entity has the id {entity!r}"))
    problems.extend(_cycles(detectors, ids))
    return problems


_REFS = {"sequence": ("first", "then"), "novelty": ("topic",), "burst": ("match",)}


def _cycles(
    detectors: tuple[DetectorSpec, ...], ids: dict[str, int]
) -> list[tuple[tuple[str | int, ...], str]]:
    by_id = {d.id: d for d in detectors}
    state: dict[str, int] = {}  # 1: on the path, 2: done
    problems: list[Problem] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in by_id[node].requires():
            if dep not in by_id:
                continue
            if state.get(dep) == 1:
                loop = [*path[path.index(dep) :], dep] if dep in path else [node, dep]
                problems.append((("detectors", ids[node], "id"), "circular reference: " + " → ".join(loop)))
            elif dep not in state:
                visit(dep, [*path, dep])
        state[node] = 2

    for d in detectors:
        if d.id not in state:
            visit(d.id, [d.id])
    return problems


__all__ = ["KINDS", "PLUGIN_GROUP", "DetectorSpec", "EntityDef", "Severity", "reference_problems"]
