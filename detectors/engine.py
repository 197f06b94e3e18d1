"""The detectors of a document, run on each article: findings, grouping, cooldowns, alert ids.

Detectors run in dependency order (a sequence after its two events, a
composition after its parts), each once per article whatever refers to it.
A finding becomes an alert when its detector alerts, the article's dedup
decision is one it alerts on, the same alert id has not fired before, and its
group is not cooling down. A duplicate (exact or near) that ``alert_on``
leaves out still alerts with a finding its original did not have: which copy
of a story arrives first is a race (outlets, polls, an outage), and a rewrite
that names "energy infrastructure" where the original did not carries news,
whichever came first. So each article's findings are kept by alert id
(``found/<article id>``) for its copies to look up; copies share their
original's event keys (``article_key``), so the same news in a copy is held.
All of that is decided on the state store with event time, so the same
stream gives the same alerts, in any worker, after any restart.

A detector that raises is a bug in it or in its definition: the article goes
on through the others, and after ``error_limit`` errors the detector is
disabled. Its errors are counted in the store (``engine/faults``) under a
fingerprint of its definition, so the decision is the same on every worker
and survives restarts, and applying a changed definition enables it again.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from detectors.base import ArticleContext, BuildEnv, Detector, DetectorSpec, Finding, Gate
from detectors.state import DetectorState, Expiring
from detectors.store import Store

log = logging.getLogger(__name__)

FIRED_MEMORY = 30 * 86400.0  # how long an alert id is remembered as sent
FAULTS = "engine/faults"  # detector id → {"fingerprint", "errors", "last"}: see ``Engine.faults``
COPIES = ("exact", "near")  # decisions of an article that copies an earlier one (``duplicate_of``)


def alert_id(detector_id: str, key: str) -> str:
    """Same detector + same event key → same id, whichever worker and however often replayed."""
    digest = hashlib.sha256(f"{detector_id}\x1f{key}".encode()).hexdigest()
    return f"{detector_id}:{digest[:24]}"


@dataclass(frozen=True)
class Firing:
    """An alert to send: the detector, its finding and the alert's deterministic id."""

    spec: DetectorSpec
    finding: Finding
    alert_id: str


@dataclass
class Outcome:
    """What one article did: alerts to send, findings held back (and why), detectors that failed."""

    firings: list[Firing] = field(default_factory=list)
    found: dict[str, Finding] = field(default_factory=dict)
    held: list[tuple[str, str]] = field(default_factory=list)  # (detector id, reason)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (detector id, error)
    evaluated: list[str] = field(default_factory=list)  # detectors run (not ruled out by a gate)
    disabled: dict[str, str] = field(default_factory=dict)  # every disabled detector → its last error
    newly_disabled: list[str] = field(default_factory=list)  # disabled by this article's errors


def dependency_order(specs: list[DetectorSpec]) -> list[DetectorSpec]:
    """Specs with every detector after the ones it requires (references are checked before)."""
    by_id = {s.id: s for s in specs}
    ordered: list[DetectorSpec] = []
    done: set[str] = set()

    def visit(spec: DetectorSpec) -> None:
        if spec.id in done:
            return
        done.add(spec.id)
        for dep in spec.requires():
            if dep in by_id:
                visit(by_id[dep])
        ordered.append(spec)

    for spec in specs:
        visit(spec)
    return ordered


class Engine:
    """Compiled detectors of one document version."""

    def __init__(
        self,
        specs: list[DetectorSpec],
        entities: dict[str, Any] | None = None,
        version: str = "",
        encode: Callable[[list[str]], npt.NDArray[np.float32]] | None = None,
        env: BuildEnv | None = None,
    ) -> None:
        self.version = version
        self.env = env or BuildEnv(encode=encode, entities=entities or {})
        enabled = [s for s in specs if s.enabled]
        self.detectors: list[Detector] = [s.build(self.env) for s in dependency_order(enabled)]
        self._plan = [_Step(d) for d in self.detectors]
        self._alerts = {d.spec.id: d.spec.alert for d in self.detectors}
        self._gates = list({id(s.gate): s.gate for s in self._plan if s.gate is not None}.values())

    @property
    def specs(self) -> list[DetectorSpec]:
        return [d.spec for d in self.detectors]

    def evaluate(self, article: ArticleContext, store: Store[str, Any]) -> Outcome:
        """Run every detector on the article; state changes go to ``store``."""
        expiring = Expiring(store)
        expiring.advance(article.at)
        outcome = Outcome()
        found = outcome.found
        passed: set[str] = set().union(*(gate.candidates(article) for gate in self._gates))
        faults: dict[str, Any] = store.get(FAULTS) or {}
        disabled = outcome.disabled
        disabled.update(self._disabled(faults))
        original = self._original_found(article, expiring)
        for step in self._plan:
            if step.id in disabled or (step.gate is not None and step.id not in passed):
                continue
            if step.needs and (
                not step.needs <= found.keys() if step.every else step.needs.isdisjoint(found)
            ):
                continue
            spec = step.detector.spec
            outcome.evaluated.append(spec.id)
            try:
                finding = step.detector.evaluate(article, step.state.bind(expiring, article.at), found)
            except Exception as exc:  # a detector bug must not stop the others, nor the stage
                log.exception("detector %s failed on article %s", spec.id, article.id)
                error = f"{type(exc).__name__}: {exc}"
                outcome.errors.append((spec.id, error))
                faults = self._count_fault(store, faults, step, error)
                if faults[spec.id]["errors"] >= spec.error_limit:
                    disabled[spec.id] = error
                    outcome.newly_disabled.append(spec.id)
                continue
            if finding is not None:
                found[spec.id] = finding
                self._decide(spec, finding, article, expiring, outcome, original)
        self._remember_found(article, expiring, found)
        return outcome

    @staticmethod
    def _original_found(article: ArticleContext, expiring: Expiring) -> frozenset[str] | None:
        """For a copy: the alert ids of what its original found (None: not a copy)."""
        if article.decision not in COPIES or not article.duplicate_of:
            return None
        return frozenset(expiring.get(f"found/{article.duplicate_of}") or ())

    def _remember_found(self, article: ArticleContext, expiring: Expiring, found: dict[str, Finding]) -> None:
        """The alert ids of this article's findings (every revision's), for its copies to look up."""
        ids = {alert_id(d, f.key) for d, f in found.items() if self._alerts[d]}
        if not ids:
            return
        key = f"found/{article.id}"
        known: list[str] = expiring.get(key) or []
        if ids <= set(known):
            return
        expiring.set(key, sorted({*known, *ids}), max(article.at, expiring.clock) + FIRED_MEMORY)

    def faults(self, store: Store[str, Any]) -> dict[str, tuple[int, str]]:
        """Detectors of this document that failed: id → (errors, last error)."""
        return self._current_faults(store.get(FAULTS) or {})

    def _current_faults(self, faults: dict[str, Any]) -> dict[str, tuple[int, str]]:
        """The stored faults that count against the current definitions (an edited detector has none)."""
        return {
            s.id: (faults[s.id]["errors"], faults[s.id]["last"])
            for s in self._plan
            if s.id in faults and faults[s.id]["fingerprint"] == s.fingerprint
        }

    def _disabled(self, faults: dict[str, Any]) -> dict[str, str]:
        if not faults:  # the common case, per article
            return {}
        limits = {s.id: s.detector.spec.error_limit for s in self._plan}
        return {
            id_: last for id_, (errors, last) in self._current_faults(faults).items() if errors >= limits[id_]
        }

    @staticmethod
    def _count_fault(
        store: Store[str, Any], faults: dict[str, Any], step: _Step, error: str
    ) -> dict[str, Any]:
        """Count an error against the detector's current definition (a changed one starts at 0)."""
        entry = faults.get(step.id)
        errors = entry["errors"] if entry is not None and entry["fingerprint"] == step.fingerprint else 0
        faults = {**faults, step.id: {"fingerprint": step.fingerprint, "errors": errors + 1, "last": error}}
        store[FAULTS] = faults
        return faults

    def _decide(
        self,
        spec: DetectorSpec,
        finding: Finding,
        article: ArticleContext,
        expiring: Expiring,
        outcome: Outcome,
        original: frozenset[str] | None = None,
    ) -> None:
        if not spec.alert:
            return
        aid = alert_id(spec.id, finding.key)
        news_in_copy = original is not None and aid not in original
        if article.decision not in spec.alert_on and not news_in_copy:
            outcome.held.append((spec.id, f"decision {article.decision}"))
            return
        if expiring.get(f"fired/{aid}") is not None:
            outcome.held.append((spec.id, "already alerted"))
            return
        event_key = f"event/{spec.id}/{finding.event}"
        if finding.event and expiring.get(event_key) is not None:
            outcome.held.append((spec.id, f"same event {finding.event} already alerted"))
            return
        group = {"none": "", "story": article.story_id, "key": finding.group}[spec.group_by]
        group_key = f"group/{spec.id}/{group}"
        last = expiring.get(group_key)
        if last is not None:
            once = spec.cooldown == 0 and spec.group_by != "none"
            if once or abs(article.at - last) < spec.cooldown:
                outcome.held.append((spec.id, f"group {group or spec.id} cooling down"))
                return
        at = max(article.at, expiring.clock)
        expiring.set(f"fired/{aid}", True, at + max(FIRED_MEMORY, spec.cooldown))
        if spec.cooldown > 0 or spec.group_by != "none":
            expiring.set(group_key, article.at, at + (spec.cooldown or FIRED_MEMORY))
        if finding.event:
            expiring.set(event_key, article.at, at + finding.event_window)
        outcome.firings.append(Firing(spec, finding, aid))


class _Step:
    """One detector as the engine runs it: its gate, the findings it needs, its state view."""

    __slots__ = ("detector", "every", "fingerprint", "gate", "id", "needs", "state")

    def __init__(self, detector: Detector) -> None:
        self.detector = detector
        self.id: str = detector.spec.id
        definition = detector.spec.model_dump_json(exclude={"enabled"}).encode()
        self.fingerprint = hashlib.sha256(definition).hexdigest()[:16]
        self.gate: Gate | None = getattr(detector, "gate", None)
        # detectors that read others' findings run only when one of them (all, for `all`) matched
        self.needs = frozenset(detector.spec.requires())
        self.every = detector.spec.kind == "all"
        self.state = DetectorState(None, self.id)
