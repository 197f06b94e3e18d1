"""``wirewatch detectors kinds|check|list|test``: no Kafka, the same engine the workers run."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from monitor.cli import app
from streams.records import Alert

REPO = Path(__file__).resolve().parents[4]
EXAMPLES = str(REPO / "examples" / "detectors.yaml")
runner = CliRunner()


def test_kinds_lists_every_kind_with_its_keys() -> None:
    result = runner.invoke(app, ["detectors", "kinds"])
    assert result.exit_code == 0
    for kind in ("keyword", "semantic", "entity", "sequence", "novelty", "burst", "all", "any"):
        assert f"{kind} —" in result.stdout
    assert "within" in result.stdout  # a sequence key, with its description
    assert "every kind also takes" in result.stdout


def test_check_names_the_version() -> None:
    result = runner.invoke(app, ["detectors", "check", EXAMPLES])
    assert result.exit_code == 0, result.stdout
    assert "version seed-events-1" in result.stdout


def test_a_bad_document_exits_3_naming_key_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("detectors:\n  - id: x\n    kind: sequence\n    first: a\n    then: x\n")
    result = runner.invoke(app, ["detectors", "test", str(bad), "--text", "anything"])
    assert result.exit_code == 3
    assert "bad.yaml:4:5: detectors[0].first: no detector has the id 'a'" in result.output


def test_dry_run_on_texts_and_jsonl_says_what_fires_and_why(tmp_path: Path) -> None:
    texts = runner.invoke(
        app,
        [
            "detectors", "test", EXAMPLES,
            "--text", "Trump and Putin hold a phone call on the war in Ukraine",
            "--text", "Air raid alarm in Kyiv, explosions heard",
            "--text", "Arsenal beat Chelsea 2-1",
        ],
    )  # fmt: skip
    assert texts.exit_code == 0, texts.output
    assert "ALERT air-raid-after-call [high] on text-1" in texts.stdout
    assert "with text-0: Trump and Putin hold a phone call" in texts.stdout
    assert "ALERT strike [high] on text-1" in texts.stdout
    assert "2 alert(s) from 3 article(s)" in texts.stdout

    lines = tmp_path / "articles.jsonl"
    articles = [
        {
            "id": "a",
            "title": "Kremlin: 175 POWs to be exchanged",
            "published_at": "2025-03-18T16:00:00+00:00",
        },
        {"article": {"id": "b", "title": "Football results", "published_at": "2025-03-18T16:05Z"}},
    ]
    lines.write_text("\n".join(json.dumps(a) for a in articles))
    jsonl = runner.invoke(app, ["detectors", "test", EXAMPLES, "--jsonl", str(lines), "--held"])
    assert jsonl.exit_code == 0, jsonl.output
    assert "ALERT prisoner-exchange [high] on a" in jsonl.stdout
    assert '"prisoners": "175"' in jsonl.stdout
    assert "1 alert(s) from 2 article(s)" in jsonl.stdout


def test_list_shows_each_detector_and_what_it_reads() -> None:
    result = runner.invoke(app, ["detectors", "list", EXAMPLES, "--json"])
    assert result.exit_code == 0, result.stdout
    rows = {row["id"]: row for row in map(json.loads, result.stdout.splitlines())}
    assert rows["air-raid-after-call"]["kind"] == "sequence"
    assert rows["air-raid-after-call"]["first"] == "leaders-call"
    assert rows["leaders-call"]["alert"] is False
    table = runner.invoke(app, ["detectors", "list", EXAMPLES], env={"COLUMNS": "200"})
    assert table.exit_code == 0
    line = next(line for line in table.stdout.splitlines() if "air-raid-after-call" in line)
    assert "sequence" in line
    assert "leaders-call, strike" in line
    assert "building block" in table.stdout


def test_json_output_has_alert_records_and_held_matches_building_blocks_included(tmp_path: Path) -> None:
    lines = tmp_path / "articles.jsonl"
    rows = [
        {
            "id": "call",
            "title": "Trump and Putin hold a phone call on the war in Ukraine",
            "published_at": "2025-03-18T16:00:00Z",
        },
        {
            "id": "raid",
            "title": "Air raid alarm in Kyiv, explosions heard",
            "published": "2025-03-18T16:30:00Z",
        },
    ]
    lines.write_text("\n".join(json.dumps(r) for r in rows))
    result = runner.invoke(app, ["detectors", "test", EXAMPLES, "--jsonl", str(lines), "--held", "--json"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    alerts = [r for r in records if "held" not in r]
    held = [r for r in records if r.get("held")]
    assert sorted(a["detector_id"] for a in alerts) == ["air-raid-after-call", "strike"]
    assert Alert.model_validate(alerts[0]).articles[0].id in {"call", "raid"}
    blocks = {(h["detector_id"], h["article_id"]) for h in held if h["reason"].startswith("building block")}
    assert ("leaders-call", "call") in blocks  # an alert: false detector's match, once dropped
    assert ("air-raid", "raid") in blocks
    assert all(set(h) == {"held", "detector_id", "article_id", "reason"} for h in held)


def test_dateless_lines_are_reported_never_spread_over_an_invented_clock(tmp_path: Path) -> None:
    """Lines without a time once got now + n seconds, so unrelated reports minutes apart joined."""
    lines = tmp_path / "articles.jsonl"
    rows = [
        {"id": "call", "title": "Trump and Putin hold a phone call", "published_at": "2025-03-01T10:00:00Z"},
        {"id": "raid", "title": "Air raid alarm in Kyiv, explosions heard"},
    ]
    lines.write_text("\n".join(json.dumps(r) for r in rows))
    warned = runner.invoke(app, ["detectors", "test", EXAMPLES, "--jsonl", str(lines), "--json"])
    assert warned.exit_code == 0, warned.output
    assert "1 of 2 lines have no `published_at` or `published` (lines 2)" in warned.stderr
    wide = {"COLUMNS": "400"}  # the usage box must not wrap the message
    strict = runner.invoke(app, ["detectors", "test", EXAMPLES, "--jsonl", str(lines), "--strict"], env=wide)
    assert strict.exit_code == 2, strict.output
    assert "articles.jsonl:2: no `published_at` or `published`" in strict.output
