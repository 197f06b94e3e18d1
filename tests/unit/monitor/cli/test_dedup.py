"""``wirewatch dedup check``: the sequencer's near-duplicate decision on given pairs, explained."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.cli import app
from streams.dedup.facts import FEATURES

pytestmark = pytest.mark.model  # the embedding model in this process

runner = CliRunner()


def test_each_pair_gets_cosine_features_probability_rule_and_decision(tmp_path: Path) -> None:
    pairs = tmp_path / "pairs.jsonl"
    rows = [
        {
            "a": "Russia and Ukraine exchange 175 prisoners of war",
            "b": "Russia and Ukraine exchange 90 prisoners of war",
        },
        {"a": "Air raid alarm in Kyiv", "a_summary": "Explosions were heard.", "b": "Air raid alarm in Kyiv"},
        {"a": "Aftermath of shelling in Mariupol", "b": "Aftermath of shelling in Kharkiv"},
    ]
    pairs.write_text("\n".join(json.dumps(r) for r in rows))
    result = runner.invoke(app, ["dedup", "check", "--pairs", str(pairs), "--json"])
    assert result.exit_code == 0, result.output
    verdicts = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert len(verdicts) == 3  # one per pair, in order
    numbers, same_alarm, cities = verdicts
    assert set(numbers["features"]) == set(FEATURES)
    assert numbers["rule"] == "number_conflict"
    assert numbers["same"] is False
    assert numbers["cosine"] > 0.9  # the embedding alone would merge them
    assert same_alarm["rule"] is None
    assert 0.0 <= same_alarm["probability"] <= 1.0
    assert same_alarm["threshold"] == pytest.approx(0.68)
    assert cities["places"] == {"a": ["Mariupol|UA"], "b": ["Kharkiv|UA"]}
    assert cities["rule"] == "place_conflict"
    assert cities["same"] is False


def test_one_pair_from_the_command_line_and_a_usage_error() -> None:
    text = runner.invoke(app, ["dedup", "check", "--a", "Kyiv under attack", "--b", "Kyiv under attack"])
    assert text.exit_code == 0, text.output
    assert text.stdout.startswith("SAME")
    half = runner.invoke(app, ["dedup", "check", "--a", "only one side"])
    assert half.exit_code == 2, half.output


def test_another_model_for_a_comparison_and_a_missing_one_named() -> None:
    pair = ["--a", "Russia and Ukraine swap 175 POWs", "--b", "Україна та Росія обмінялися 175 полоненими"]
    default = runner.invoke(app, ["dedup", "check", *pair, "--json"])
    named = runner.invoke(app, ["dedup", "check", *pair, "--json", "--model", "all-MiniLM-L6-v2"])
    assert default.exit_code == named.exit_code == 0, (default.output, named.output)
    assert "embedding 2 texts with all-MiniLM-L6-v2" in named.stderr
    assert json.loads(named.stdout)["cosine"] == pytest.approx(json.loads(default.stdout)["cosine"], abs=1e-6)
    missing = runner.invoke(app, ["dedup", "check", *pair, "--model", "/nowhere/multilingual"])
    assert missing.exit_code != 0
    assert "/nowhere/multilingual" in missing.output
    assert "never downloaded" in missing.output
