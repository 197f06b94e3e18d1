"""The sequencer's decisions (pure logic: dict stores, synthetic vectors, no Kafka, no model)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from detectors.store import MemoryStore
from monitor.config import DedupConfig, StoriesConfig
from streams.dedup.sequencer import Sequencer
from streams.dedup.stories import story_id_for
from streams.dedup.tables import SequencerState
from streams.records import EnrichedArticle, content_hash
from tests import factories

DIM = 32
T0 = datetime(2025, 3, 18, 12, 0, tzinfo=UTC)
HOUR = 3600.0


def unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v)).astype(np.float32)


RNG = np.random.default_rng(7)
PRISONERS = unit(RNG.standard_normal(DIM))
WEATHER = unit(RNG.standard_normal(DIM))


def near(v: np.ndarray, noise: float = 0.15, seed: int = 1) -> np.ndarray:
    """A vector at cosine ≈ 1 − noise²/2 from ``v``."""
    rng = np.random.default_rng(seed)
    return unit(v + noise * unit(rng.standard_normal(DIM)))


def enriched(
    article_id: str,
    title: str,
    summary: str,
    vector: np.ndarray | None,
    *,
    feed: str = "feed-a",
    source: str = "Outlet A",
    at: datetime = T0,
) -> EnrichedArticle:
    article = factories.article(
        article_id,
        title,
        summary,
        feed=feed,
        source=source,
        url=f"https://example.org/{article_id}",
        at=at,
        fetched_after=timedelta(minutes=1),
    )
    return factories.enriched(article, vector, at=at)


def state() -> SequencerState:
    return SequencerState.in_memory()


def sequencer(st: SequencerState | None = None, backend: str = "exact", **dedup: Any) -> Sequencer:
    config = DedupConfig(index=backend, **dedup)  # type: ignore[arg-type]
    return Sequencer(st or state(), config, StoriesConfig())


SWAP = "Russia and Ukraine exchanged 175 prisoners of war on Wednesday, officials in Kyiv said."
SWAP_2 = "Officials in Kyiv said Russia and Ukraine exchanged 175 prisoners of war on Wednesday."
SWAP_90 = "Russia and Ukraine exchanged 90 prisoners of war on Wednesday, officials in Kyiv said."


def test_first_article_opens_a_story() -> None:
    seq = sequencer()
    out = seq.process(enriched("a1", "Prisoner swap", SWAP, PRISONERS), 0)
    assert out.decision.kind == "first"
    assert out.decision.new_story
    assert out.decision.duplicate_of is None
    assert out.story.id == story_id_for("a1") == out.decision.story_id
    assert (out.story.members, out.story.sources) == (1, ("Outlet A",))
    assert not out.replayed


def test_a_redelivery_gets_its_stored_decision_and_changes_nothing() -> None:
    st = state()
    seq = sequencer(st)
    first = seq.process(enriched("a1", "Prisoner swap", SWAP, PRISONERS), 0)
    snapshot = (dict(st.articles), dict(st.stories), dict(st.window))  # type: ignore[call-overload]
    again = seq.process(enriched("a1", "Prisoner swap", SWAP, PRISONERS), 7)  # same delivery, new offset
    assert again.replayed
    assert again.decision == first.decision
    assert (dict(st.articles), dict(st.stories), dict(st.window)) == snapshot  # type: ignore[call-overload]


def test_same_url_from_another_feed_is_an_exact_duplicate_and_grows_the_story() -> None:
    seq = sequencer()
    seq.process(enriched("a1", "Prisoner swap", SWAP, PRISONERS), 0)
    out = seq.process(enriched("a1", "Prisoner swap", SWAP, PRISONERS, feed="feed-b", source="Outlet B"), 1)
    assert (out.decision.kind, out.decision.duplicate_of, out.decision.revision) == ("exact", "a1", 0)
    assert out.story.members == 2
    assert out.story.sources == ("Outlet A", "Outlet B")
    # another feed's own summary of the same URL (same title) is the same article, not an update
    other = enriched("a1", "Prisoner swap", "A different blurb.", PRISONERS, feed="feed-c", source="C")
    assert seq.process(other, 2).decision.kind == "exact"


def test_changed_content_of_a_known_id_is_an_update_in_the_same_story() -> None:
    seq = sequencer()
    first = seq.process(enriched("a1", "Air raid alert in Kyiv", "Sirens sounded.", WEATHER), 0)
    later = T0 + timedelta(minutes=20)
    edited = enriched("a1", "Explosions in Kyiv", "Sirens sounded, then blasts.", WEATHER, at=later)
    out = seq.process(edited, 1)
    assert (out.decision.kind, out.decision.revision) == ("update", 1)
    assert out.decision.story_id == first.decision.story_id
    again = enriched("a1", "Explosions in Kyiv", "Blasts, three injured.", WEATHER, at=later + timedelta(1))
    assert seq.process(again, 2).decision.revision == 2


def test_same_text_under_another_id_is_an_exact_duplicate_of_the_first() -> None:
    seq = sequencer()
    seq.process(enriched("a1", "Prisoner swap", SWAP, PRISONERS), 0)
    out = seq.process(enriched("b7", "Prisoner swap", SWAP, PRISONERS, feed="feed-b"), 1)
    assert (out.decision.kind, out.decision.duplicate_of) == ("exact", "a1")
    assert out.decision.story_id == story_id_for("a1")


@pytest.mark.parametrize("backend", ["exact", "hnsw"])
def test_reworded_report_is_a_near_duplicate_linked_to_the_first(backend: str) -> None:
    seq = sequencer(backend=backend)
    seq.process(enriched("a1", "Prisoner swap", SWAP, PRISONERS), 0)
    out = seq.process(enriched("b1", "Prisoner swap", SWAP_2, near(PRISONERS, 0.1), feed="b"), 1)
    assert out.decision.kind == "near"
    assert out.decision.duplicate_of == "a1"
    assert out.decision.similarity is not None
    assert out.decision.similarity > 0.95
    assert out.decision.probability is not None
    assert out.decision.probability >= 0.68
    # a near duplicate of the near duplicate still points at the first report
    third = seq.process(enriched("c1", "Prisoner swap", SWAP_2 + " ", near(PRISONERS, 0.1, 2), feed="c"), 2)
    assert third.decision.duplicate_of == "a1"
    assert third.story.members == 3


def test_conflicting_numbers_are_news_not_a_duplicate_but_the_same_story() -> None:
    seq = sequencer()
    seq.process(enriched("a1", "Prisoner swap", SWAP, PRISONERS), 0)
    out = seq.process(enriched("b1", "Prisoner swap", SWAP_90, near(PRISONERS, 0.1), feed="b"), 1)
    assert out.decision.kind == "first"
    assert not out.decision.new_story
    assert out.decision.story_id == story_id_for("a1")


def test_unrelated_article_opens_its_own_story_and_no_text_passes_through() -> None:
    seq = sequencer()
    seq.process(enriched("a1", "Prisoner swap", SWAP, PRISONERS), 0)
    out = seq.process(enriched("w1", "Storm warning", "Heavy rain expected.", WEATHER), 1)
    assert out.decision.kind == "first"
    assert out.decision.new_story
    empty = seq.process(enriched("e1", "", "", None), 2)
    assert empty.decision.kind == "first"
    assert empty.decision.new_story


TOPICS = (
    "Budget", "Volcano", "Election", "Tennis", "Vaccine", "Flood", "Merger", "Satellite", "Strike",
    "Festival", "Drought", "Verdict", "Airline", "Museum", "Glacier", "Protest", "Harvest", "Bridge",
    "Orchestra", "Pipeline",
)  # fmt: skip


def test_the_window_slides_and_forgets_everything_that_left_it() -> None:
    st = state()
    seq = sequencer(st, window=6 * HOUR, id_window=6 * HOUR, shard_span=HOUR)
    for i in range(20):
        vector = unit(np.random.default_rng(100 + i).standard_normal(DIM))
        at = T0 + timedelta(hours=i)
        topic = TOPICS[i]  # unrelated in words too: a shared template would make one story
        seq.process(enriched(f"x{i}", f"{topic} {i}", f"Text about {topic}.", vector, at=at), i)
    # clock at ~hour 19: entries older than 6 h are gone from every table and the index
    assert sorted(st.window) == list(range(13, 20))  # type: ignore[call-overload]
    assert set(st.articles) == {f"x{i}" for i in range(13, 20)}  # type: ignore[call-overload]
    assert len(st.stories) == 7
    assert seq.stories_open == 7  # counted as stories open and close, never by a scan
    assert len(st.hashes) == 7
    assert seq.index is not None
    assert len(seq.index) <= 8
    # an article from hour 0 comes back: forgotten, so it is first-seen again
    seq_out = seq.process(enriched("x0", "Story 0", "Text number 0.", None, at=T0 + timedelta(hours=20)), 20)
    assert seq_out.decision.kind == "first"


@pytest.mark.parametrize("backend", ["exact", "hnsw"])
def test_a_restarted_sequencer_rebuilds_its_index_and_decides_the_same(backend: str, tmp_path: Path) -> None:
    st = state()
    seq = sequencer(st, backend=backend)
    seq.process(enriched("a1", "Prisoner swap", SWAP, PRISONERS), 0)
    assert seq.save_snapshot(tmp_path / "snap") == 1  # snapshot after the first article only
    seq.process(enriched("w1", "Storm warning", "Heavy rain expected.", WEATHER), 1)

    saved = {name: dict(getattr(st, name)) for name in ("articles", "hashes", "window", "stories", "meta")}
    probe = enriched("b1", "Prisoner swap", SWAP_2, near(PRISONERS, 0.1), feed="b")
    expected = seq.process(probe, 2).decision
    assert expected.kind == "near"

    for snapshot in (None, tmp_path / "snap"):
        # the restarted worker: tables as recovered before the probe, a fresh in-memory index
        copy = SequencerState(**{name: MemoryStore(table) for name, table in saved.items()})
        restarted = sequencer(copy, backend=backend)
        assert restarted.index is not None
        assert len(restarted.index) == 0
        if snapshot is not None:
            assert restarted.load_snapshot(snapshot)
            assert restarted.index.high_key == 0
        assert restarted.rebuild_index(upto_seq=2) == (2 if snapshot is None else 1)
        assert len(restarted.index) == 2
        assert restarted.process(probe, 2).decision == expected


def test_vectors_of_another_size_are_deduplicated_by_id_and_content_only() -> None:
    seq = sequencer()
    seq.process(enriched("a1", "Prisoner swap", SWAP, PRISONERS), 0)
    other_model = unit(np.random.default_rng(9).standard_normal(DIM * 2))
    out = seq.process(enriched("b1", "Prisoner swap", SWAP_2, other_model, feed="b"), 1)
    assert out.decision.kind == "first"  # not compared by vector, not crashed
    again = seq.process(enriched("c1", "Prisoner swap", SWAP_2, other_model, feed="c"), 2)
    assert (again.decision.kind, again.decision.duplicate_of) == ("exact", "b1")


def test_articles_sequenced_past_the_committed_offset_are_reindexed_after_a_restart() -> None:
    st = state()
    seq = sequencer(st)
    seq.process(enriched("a1", "Prisoner swap", SWAP, PRISONERS), 0)
    seq.process(enriched("w1", "Storm warning", "Heavy rain expected.", WEATHER), 1)
    # the owner dies with offset 1 uncommitted; the replacement starts at 1, where a replay waits
    restarted = sequencer(st)
    assert restarted.rebuild_index(upto_seq=1) == 2  # both, not only the entries before offset 1
    assert restarted.process(enriched("w1", "Storm warning", "Heavy rain expected.", WEATHER), 1).replayed
    probe = enriched("w2", "Storm warning", "Heavy rain is expected.", near(WEATHER, 0.1), feed="b")
    assert restarted.process(probe, 2).decision.duplicate_of == "w1"


def test_a_replay_restores_what_a_crash_lost_between_tables() -> None:
    st = state()
    seq = sequencer(st)
    seq.process(enriched("a1", "Prisoner swap", SWAP, PRISONERS), 0)
    seq.process(enriched("w1", "Storm warning", "Heavy rain expected.", WEATHER), 1)
    # killed after the articles table was written but before the window, hashes and meta were
    st.window.delete(1)
    st.hashes.delete(content_hash("Storm warning", "Heavy rain expected.", ""))
    st.meta["high"] = 0.0
    restarted = sequencer(st)
    assert restarted.rebuild_index(upto_seq=1) == 1
    replay = restarted.process(enriched("w1", "Storm warning", "Heavy rain expected.", WEATHER), 1)
    assert replay.replayed
    assert st.window.get(1) is not None
    assert restarted.index is not None
    assert len(restarted.index) == 2
    copy = restarted.process(enriched("w9", "Storm warning", "Heavy rain expected.", WEATHER, feed="b"), 2)
    assert (copy.decision.kind, copy.decision.duplicate_of) == ("exact", "w1")
    probe = enriched("w2", "Storm warning", "Heavy rain is expected.", near(WEATHER, 0.1), feed="c")
    assert restarted.process(probe, 3).decision.duplicate_of == "w1"


def test_ids_outlive_the_search_window_so_late_edits_are_updates_of_the_same_story() -> None:
    st = state()
    seq = sequencer(st, window=6 * HOUR, id_window=48 * HOUR, shard_span=HOUR)
    first = seq.process(enriched("a1", "Air raid alert in Kyiv", "Sirens sounded.", WEATHER), 0)
    for i in range(1, 20):  # 19 hours of other news: a1 leaves the search window, not the id window
        vector = unit(np.random.default_rng(200 + i).standard_normal(DIM))
        seq.process(enriched(f"x{i}", f"Story {i}", f"Text {i}.", vector, at=T0 + timedelta(hours=i)), i)
    assert st.window.get(0) is not None
    assert st.window.get(0).dim == 0  # slimmed: no vector, no text
    assert first.decision.story_id not in st.stories  # the story closed with its last article
    assert seq.stories_open == len(st.stories)
    late = enriched("a1", "Explosions in Kyiv", "Blasts after sirens.", WEATHER, at=T0 + timedelta(hours=20))
    out = seq.process(late, 20)
    assert seq.stories_open == len(st.stories)  # reopened: counted again
    assert (out.decision.kind, out.decision.revision) == ("update", 1)
    assert out.decision.story_id == first.decision.story_id
    assert not out.decision.new_story


def test_two_events_of_one_kind_are_two_stories_and_a_follow_up_joins_its_own() -> None:
    """Alike to the embedding (one kind of event), told apart by the words only one of them uses."""
    seq = sequencer()
    events = [
        ("Tara Reid checks into rehab clinic in Malibu", "Actress Tara Reid entered a Malibu rehab clinic."),
        (
            "Lindsay Lohan enters rehab at Betty Ford center",
            "Lindsay Lohan checked into the Betty Ford center.",
        ),
    ]
    first = seq.process(enriched("r0", *events[0], PRISONERS), 0)
    other = seq.process(
        enriched("r1", *events[1], near(PRISONERS, 0.8, seed=3), at=T0 + timedelta(minutes=5)), 1
    )
    assert other.decision.kind == "first"
    assert other.decision.new_story
    follow = seq.process(
        enriched(
            "r2",
            "Tara Reid rehab: actress stays at Malibu clinic",
            "Tara Reid remains at the Malibu clinic, her publicist said.",
            near(PRISONERS, 1.0, seed=6),  # cosine 0.68: not a rewording of the first
            at=T0 + timedelta(minutes=9),
        ),
        2,
    )
    assert follow.decision.kind == "first"  # not the same report, the same event
    assert follow.decision.story_id == first.decision.story_id
    assert follow.story.vectors == 2
    kept = seq.state.stories.get(follow.decision.story_id)
    assert kept is not None
    assert "reid" in kept.terms
    assert not follow.story.terms  # the profile stays in the table, not on the sequenced topic


def test_word_frequencies_after_a_restart_are_what_the_running_sequencer_had() -> None:
    """The IDF that weighs story profiles is a function of the window table: a new owner agrees."""
    st = state()
    seq = sequencer(st, window=6 * HOUR, id_window=6 * HOUR, shard_span=HOUR)
    for i in range(20):
        vector = unit(np.random.default_rng(300 + i).standard_normal(DIM))
        topic = TOPICS[i % 7]
        at = T0 + timedelta(hours=i)
        seq.process(enriched(f"w{i}", f"{topic} news {i}", f"More on the {topic.lower()}.", vector, at=at), i)
    running = seq.term_stats()
    assert running.documents == len([e for e in st.window.values() if e.text])  # type: ignore[attr-defined]
    restarted = Sequencer(st, seq.dedup, seq.stories).term_stats()
    assert restarted.documents == running.documents
    assert restarted.frequency == running.frequency


def lingual(
    article_id: str, title: str, summary: str, vector: np.ndarray, language: str, model: str = "test"
) -> EnrichedArticle:
    article = factories.article(
        article_id,
        title,
        summary,
        feed=f"feed-{language}",
        source=f"Outlet {language}",
        at=T0,
        detected_language=language,
        language_probability=0.99,
    )
    return factories.enriched(article, vector, model, at=T0)


def at_cosine(v: np.ndarray, cosine: float, seed: int) -> np.ndarray:
    """A unit vector at exactly ``cosine`` from ``v``."""
    r = np.random.default_rng(seed).standard_normal(DIM)
    orthogonal = unit(r - (r @ v) * v)
    return unit(cosine * v + np.sqrt(1 - cosine**2) * orthogonal)


SWAP_UK = "Росія та Україна обміняли 175 військовополонених у середу, повідомили в Києві."
SWAP_RU = "Россия и Украина обменяли 175 военнопленных в среду, сообщили в Киеве."


def multilingual(crosslingual: float | None = None) -> Sequencer:
    return Sequencer(state(), DedupConfig(index="exact"), StoriesConfig(crosslingual_cosine=crosslingual))


def test_a_report_in_another_language_joins_the_story_by_its_cosine_alone() -> None:
    seq = multilingual(0.5)
    first = seq.process(lingual("en1", "Prisoner swap", SWAP, PRISONERS, "en"), 0)
    assert first.story.languages == ("en",)
    # at cosine 0.6: no shared word, so the same-language score would be 0.6 < 1.0; across languages
    # the cosine alone must reach crosslingual_cosine (0.5)
    vector = at_cosine(PRISONERS, 0.6, 3)
    uk = seq.process(lingual("uk1", "Обмін полоненими", SWAP_UK, vector, "uk"), 1)
    assert uk.decision.kind == "first"  # a translation is a report of its own, never a near duplicate
    assert uk.decision.story_id == first.story.id
    assert uk.story.languages == ("en", "uk")


def test_a_far_report_in_another_language_opens_its_own_story() -> None:
    seq = multilingual(0.5)
    first = seq.process(lingual("en1", "Prisoner swap", SWAP, PRISONERS, "en"), 0)
    vector = at_cosine(PRISONERS, 0.45, 4)  # a candidate (≥ 0.35), below crosslingual_cosine
    uk = seq.process(lingual("uk1", "Обмін полоненими", SWAP_UK, vector, "uk"), 1)
    assert uk.decision.story_id != first.story.id


def test_an_english_only_model_joins_no_story_across_languages() -> None:
    seq = multilingual()  # the model's own value: none for a model not known to be multilingual
    first = seq.process(lingual("en1", "Prisoner swap", SWAP, PRISONERS, "en"), 0)
    uk = seq.process(lingual("uk1", "Обмін полоненими", SWAP_UK, near(PRISONERS, 0.05), "uk"), 1)
    assert uk.decision.story_id != first.story.id
    # the same vectors from the bundled multilingual model: its default cross-lingual cosine applies
    seq = multilingual()
    first = seq.process(lingual("en1", "Prisoner swap", SWAP, PRISONERS, "en", "multilingual-e5-small"), 0)
    uk = seq.process(
        lingual("uk1", "Обмін полоненими", SWAP_UK, near(PRISONERS, 0.05), "uk", "multilingual-e5-small"), 1
    )
    assert uk.decision.story_id == first.story.id


def test_near_duplicates_are_same_language_only() -> None:
    seq = multilingual(0.5)
    seq.process(lingual("ru1", "Обмен пленными", SWAP_RU, PRISONERS, "ru"), 0)
    # the same numbers, near-identical vector: in Russian a near duplicate, in Ukrainian a report of its own
    reworded = "Россия и Украина в среду обменяли 175 военнопленных, сообщили в Киеве."
    same = seq.process(lingual("ru2", "Обмен пленными", reworded, near(PRISONERS, 0.05, 8), "ru"), 1)
    assert same.decision.kind == "near"
    # the rule reads the language, not the words: the same wording labelled Ukrainian stays apart
    # (a model reading it as Russian gives "near", as above)
    again = "В среду Россия и Украина обменяли 175 военнопленных, сообщили в Киеве."
    assert (
        seq.process(lingual("ru3", "Обмен пленными", again, near(PRISONERS, 0.05, 9), "ru"), 2).decision.kind
        == "near"
    )
    other = seq.process(lingual("uk1", "Обмен пленными", again + " Так.", near(PRISONERS, 0.05, 9), "uk"), 3)
    assert other.decision.kind == "first"
    assert other.decision.story_id == same.decision.story_id


def test_a_window_entry_restored_by_a_replay_keeps_its_language() -> None:
    st = state()
    seq = Sequencer(st, DedupConfig(index="exact"), StoriesConfig())
    seq.process(lingual("uk1", "Обмін полоненими", SWAP_UK, PRISONERS, "uk"), 0)
    assert st.window.get(0).language == "uk"
    st.window.delete(0)  # killed before the window table was written
    replay = Sequencer(st, DedupConfig(index="exact"), StoriesConfig())
    assert replay.process(lingual("uk1", "Обмін полоненими", SWAP_UK, PRISONERS, "uk"), 0).replayed
    assert st.window.get(0).language == "uk"  # the same-language rule holds for it after the replay
