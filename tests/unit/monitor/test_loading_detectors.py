"""The detectors document: every mistake named with its key and line; state that expires."""

from __future__ import annotations

import textwrap

import pytest

from detectors.state import Expiring
from detectors.store import MemoryStore
from monitor.errors import ConfigError
from monitor.loading import parse_config, parse_detectors


def errors_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_detectors(textwrap.dedent(text), source="d.yaml")
    return caught.value.issues


def test_dangling_references_are_named_at_their_line() -> None:
    issues = errors_of(
        """\
        entities:
          - {id: putin, names: [Putin], country: RU}
        detectors:
          - id: call
            kind: entity
            entities: [putin, trump]
          - id: after
            kind: sequence
            first: call
            then: air-raid
          - id: both
            kind: all
            of: [call, nothing]
        """
    )
    assert issues == [
        "d.yaml:6:23: detectors[0].entities[1]: no entity has the id 'trump'",
        "d.yaml:10:5: detectors[1].then: no detector has the id 'air-raid'",
        "d.yaml:13:16: detectors[2].of[1]: no detector has the id 'nothing'",
    ]


def test_circular_references_are_refused() -> None:
    issues = errors_of(
        """\
        detectors:
          - {id: a, kind: any, of: [b]}
          - {id: b, kind: all, of: [a]}
        """
    )
    assert any("circular reference: a → b → a" in i for i in issues)


def test_kind_specific_mistakes_name_key_and_line() -> None:
    issues = errors_of(
        """\
        detectors:
          - id: q
            kind: keyword
            query: '(ceasefire OR truce'
          - id: n
            kind: novelty
            topic: q
            windw: 3h
          - id: e
            kind: entity
            entities: [{id: x, names: [X], country: Atlantis}]
        """
    )
    assert issues[0].startswith("d.yaml:4:5: detectors[0].query:")
    assert "')' is missing" in issues[0]
    assert "d.yaml:8:5: detectors[1].windw: unknown key" in issues[1]
    assert issues[2].startswith("d.yaml:11:")
    assert "'Atlantis' is not an ISO 3166 alpha-2" in issues[2]


def test_wirewatch_yaml_takes_entities_and_detectors_too() -> None:
    config = parse_config(
        "entities:\n  - {id: kyiv, names: [Kyiv]}\ndetectors:\n  - {id: k, kind: entity, entities: [kyiv]}\n",
        env={},
    )
    document = config.detectors_document()
    assert [d.id for d in document.detectors] == ["k"]
    assert document.content_version().startswith("sha256:")
    assert document.content_version() == config.detectors_document().content_version()


def test_state_expires_by_event_time_without_scanning() -> None:
    store = MemoryStore()
    state = Expiring(store)
    state.advance(10_000.0)
    state.set("short", 1, expires=10_000.0 + 600)
    state.set("long", 2, expires=10_000.0 + 86_400)
    state.advance(10_000.0 + 7200)
    assert state.get("short") is None
    assert "short" not in store
    assert state.get("long") == 2
    state.set("long", 3, expires=10_000.0 + 7200 + 86_400)  # renewed: survives its old hour
    state.advance(10_000.0 + 90_000)
    assert state.get("long") == 3
    state.advance(10_000.0 + 200_000)
    assert "long" not in store
    assert [k for k in store if k.startswith("engine/expiry/")] == []
