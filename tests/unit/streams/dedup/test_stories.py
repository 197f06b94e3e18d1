"""The story model's pure parts: words, their window IDF, the centroid and the score."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from streams.dedup.stories import (
    PROFILE_TERMS,
    TermStats,
    best_story,
    centroid,
    open_story,
    score_story,
    story_terms,
    tfidf_cosine,
    with_content,
)

T0 = datetime(2025, 3, 18, tzinfo=UTC).timestamp()


def test_words_of_any_script_count_and_function_words_do_not() -> None:
    terms = story_terms("The Kremenchuk mall: удар по ТЦ, and the toll rises")
    assert {"kremenchuk", "mall", "удар", "toll", "rises"} <= set(terms)
    assert "the" not in terms
    assert "and" not in terms
    assert "по" not in terms


def test_rare_shared_words_weigh_more_than_common_ones() -> None:
    stats = TermStats()
    for _ in range(50):
        stats.add(["ukraine", "war"])
    stats.add(["kremenchuk"])
    common = tfidf_cosine({"ukraine": 1, "kremenchuk": 1}, {"ukraine": 1, "odesa": 1}, stats)
    rare = tfidf_cosine({"ukraine": 1, "kremenchuk": 1}, {"kremenchuk": 1, "odesa": 1}, stats)
    assert rare > common > 0
    stats.remove(["kremenchuk"])
    assert "kremenchuk" not in stats.frequency
    assert stats.documents == 50


def test_the_centroid_is_the_members_mean_and_the_profile_keeps_the_frequent_words() -> None:
    a, b = np.eye(4, dtype=np.float32)[0], np.eye(4, dtype=np.float32)[1]
    story = open_story("a1", "Talks", "Outlet", T0, 0)
    story = with_content(story, a, story_terms("talks begin"))
    story = with_content(
        story,
        b,
        story_terms(
            "talks stall " + " ".join(f"term{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(60))
        ),
    )
    mean = centroid(story)
    assert mean is not None
    assert np.allclose(mean, [0.5, 0.5, 0, 0], atol=1e-3)
    assert story.vectors == 2
    assert story.terms["talks"] == 2
    assert len(story.terms) == PROFILE_TERMS


def test_an_article_joins_the_best_story_over_the_threshold_and_places_count() -> None:
    vector = np.array([1.0, 0.0], dtype=np.float32)
    stats = TermStats()
    stories = []
    for n, (words, direction) in enumerate(((["swap", "prisoners"], [0.8, 0.6]), (["storm"], [0.9, 0.436]))):
        story = open_story(f"s{n}", "x", "", T0 + n, n)
        stories.append(
            with_content(story, np.array(direction, dtype=np.float32), story_terms(" ".join(words)))
        )
        stats.add(words)
    terms = story_terms("prisoners swap")
    scored = [(s, score_story(s, vector, terms, stats, 1.5, 0.3, False)) for s in stories]
    assert all(fit is not None for _, fit in scored)
    assert best_story([(s, f) for s, f in scored if f], threshold=1.0) is stories[0]  # words decide
    conflict = score_story(stories[0], vector, terms, stats, 1.5, 0.3, True)
    plain = score_story(stories[0], vector, terms, stats, 1.5, 0.3, False)
    assert conflict is not None
    assert plain is not None
    assert conflict.score < plain.score
    assert best_story([(s, f) for s, f in scored if f], threshold=5.0) is None
    assert score_story(stories[0], vector, terms, stats, 1.5, 0.3, False, min_cosine=0.9) is None
