"""``wirewatch detectors kinds|check|list|test``: no Kafka, the same engine the workers run."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from monitor.cli import app

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
    assert "1 alert(s) from 3 article(s)" in texts.stdout

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
    assert "air-raid, leaders-call" in line
    assert "building block" in table.stdout
