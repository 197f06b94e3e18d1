"""Config validation: every error names the key path and its line; secrets from the environment."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel

from detectors.base import DetectorSpec
from monitor.config import WirewatchConfig
from monitor.errors import ConfigError
from monitor.loading import load_config, parse_config

REPO = Path(__file__).resolve().parents[3]


def errors_of(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(textwrap.dedent(text), source="w.yaml", env=env or {})
    return caught.value.issues


def test_empty_document_gives_defaults() -> None:
    config = parse_config("", env={})
    assert config == WirewatchConfig()
    assert config.kafka.is_embedded
    assert config.kafka.partitions == 8
    assert config.pipeline.dedup.window == 72 * 3600


def test_misspelled_key_is_named_with_line_and_suggestion() -> None:
    issues = errors_of(
        """\
        kafka:
          partitions: 4
          topic_prefx: news.
        """
    )
    assert issues == ["w.yaml:3:3: kafka.topic_prefx: unknown key (did you mean 'topic_prefix'?)"]


def test_errors_in_list_items_point_at_the_item_key() -> None:
    issues = errors_of(
        """\
        feeds:
          - id: bbc
            url: https://example.org/rss
          - id: reuters
            url: https://example.org/reuters
            intervall: 5m
          - id: Bad Id
            url: ftp://example.org
        """
    )
    assert issues[0] == "w.yaml:6:5: feeds[1].intervall: unknown key (did you mean 'interval'?)"
    assert any(i.startswith("w.yaml:7:5: feeds[2].id: String should match pattern") for i in issues)
    assert any(
        i.startswith("w.yaml:8:5: feeds[2].url: URL scheme should be 'http' or 'https'") for i in issues
    )


def test_missing_required_key_points_at_its_parent() -> None:
    issues = errors_of(
        """\
        feeds:
          - url: https://example.org/rss
        """
    )
    assert issues == ["w.yaml:2:5: feeds[0].id: required key is missing"]


def test_unknown_key_without_close_match_lists_allowed_keys() -> None:
    [issue] = errors_of("worker:\n  zzz: 1\n")
    assert issue.startswith("w.yaml:2:3: worker.zzz: unknown key; allowed here: app_id, data_dir,")


def test_unknown_top_level_section() -> None:
    assert errors_of("detector:\n  - id: x\n") == [
        "w.yaml:1:1: detector: unknown key (did you mean 'detectors'?)"
    ]


def test_detector_errors_name_the_detector_key() -> None:
    issues = errors_of(
        """\
        detectors:
          - id: pows
            kind: keyword
            any: [prisoner exchange]
            severty: high
          - id: other
            kind: no-such-kind
        """
    )
    assert "w.yaml:5:5: detectors[0].severty: unknown key (did you mean 'severity'?)" in issues
    assert any(i.startswith("w.yaml:7:5: detectors[1].kind:") and "keyword" in i for i in issues)


def test_duplicate_key_is_an_error_with_both_lines() -> None:
    assert errors_of("kafka:\n  partitions: 2\n  partitions: 4\n") == [
        "w.yaml:3:3: kafka.partitions: duplicate key (first given on line 2)"
    ]


def test_yaml_syntax_error_has_a_line() -> None:
    [issue] = errors_of("kafka:\n  partitions: [1, 2\nfeeds: []\n")
    assert issue.startswith("w.yaml:3:")
    assert "invalid YAML" in issue


def test_durations_parse_in_human_units() -> None:
    config = parse_config(
        "feeds:\n  - {id: a, url: 'http://x.org/rss', interval: 90s}\n"
        "pipeline:\n  embed: {batch_wait: 250ms}\n  dedup: {window: 3d}\n",
        env={},
    )
    assert config.feeds[0].interval == 90
    assert config.pipeline.embed.batch_wait == 0.25
    assert config.pipeline.dedup.window == 3 * 86400
    assert errors_of("pipeline:\n  dedup: {window: soon}\n")[0].startswith(
        "w.yaml:2:11: pipeline.dedup.window: Value error, expected a duration"
    )


def test_secret_comes_from_environment_and_is_hidden() -> None:
    text = """\
    kafka:
      bootstrap: [broker-1:9093]
      security:
        protocol: SASL_SSL
        sasl_mechanism: SCRAM-SHA-512
        sasl_username: wirewatch
        sasl_password: ${KAFKA_PASSWORD}
    """
    config = parse_config(textwrap.dedent(text), env={"KAFKA_PASSWORD": "s3cret"})
    password = config.kafka.security.sasl_password
    assert password is not None
    assert password.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(config)
    assert "s3cret" not in str(config.model_dump())

    assert errors_of(text) == [
        "w.yaml:7:20: kafka.security.sasl_password: environment variable KAFKA_PASSWORD is not set"
    ]


def test_sasl_without_credentials_is_refused() -> None:
    [issue] = errors_of("kafka:\n  security:\n    protocol: SASL_SSL\n")
    assert issue.startswith("w.yaml:2:3: kafka.security: Value error, protocol SASL_SSL needs")


def test_bootstrap_servers_need_ports() -> None:
    [issue] = errors_of("kafka:\n  bootstrap: [broker-1]\n")
    assert "'broker-1' is not host:port" in issue


def test_min_insync_replicas_defaults_to_one_less_than_the_replicas() -> None:
    from streams.topics import topic_specs

    assert parse_config("{}").kafka.insync_replicas is None  # one replica: the broker's default
    three = parse_config("kafka:\n  replication_factor: 3\n").kafka
    assert three.insync_replicas == 2
    specs = topic_specs(three)
    assert {s.configs.get("min.insync.replicas") for s in specs} == {"2"}, "every topic, compacted ones too"
    assert parse_config("kafka: {replication_factor: 3, min_insync_replicas: 3}").kafka.insync_replicas == 3


def test_min_insync_replicas_above_the_replicas_is_refused() -> None:
    [issue] = errors_of("kafka:\n  replication_factor: 2\n  min_insync_replicas: 3\n")
    assert issue == (
        "w.yaml:3:3: kafka.min_insync_replicas: Value error, 3 is more than replication_factor (2): "
        "no write with acks=all could ever succeed"
    )


def test_int8_on_torch_is_refused_at_its_key() -> None:
    assert parse_config("pipeline:\n  embed: {precision: int8}\n").pipeline.embed.precision == "int8"
    [issue] = errors_of("pipeline:\n  embed:\n    backend: torch\n    precision: int8\n")
    assert issue == (
        "w.yaml:4:5: pipeline.embed.precision: Value error, "
        "int8 runs on backend: openvino only (torch runs f32)"
    )


def test_duplicate_feed_ids_are_refused() -> None:
    issues = errors_of("feeds:\n  - {id: a, url: 'http://x.org/1'}\n  - {id: a, url: 'http://x.org/2'}\n")
    assert any("id 'a' is used twice" in i for i in issues)


def test_shipped_example_config_is_valid() -> None:
    config = load_config(REPO / "examples" / "wirewatch.yaml")
    assert config.feeds
    assert config.detectors


def config_check(path: Path) -> subprocess.CompletedProcess[str]:
    """``wirewatch config check PATH`` as a user runs it: its own process, exit code and stderr."""
    return subprocess.run(
        [sys.executable, "-m", "monitor.cli", "config", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_config_check_names_misspelled_key_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "wirewatch.yaml"
    bad.write_text(
        "kafka:\n  partitions: 4\nfeeds:\n  - id: bbc\n    url: https://example.org/rss\n    intervl: 5m\n"
    )
    result = config_check(bad)
    assert result.returncode == 3
    assert f"{bad}:6:5: feeds[0].intervl: unknown key (did you mean 'interval'?)" in result.stderr

    good = subprocess.run(
        [
            sys.executable,
            "-m",
            "monitor.cli",
            "config",
            "check",
            str(REPO / "examples" / "wirewatch.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert good.returncode == 0, good.stderr
    assert "OK — 2 feeds (2 enabled), 1 detectors" in good.stdout


def test_worker_stages_name_every_registered_stage() -> None:
    """The config's stage names and the agents registry are one list, seen from two sides."""
    from streams.agents import STAGES

    assert set(WirewatchConfig().worker.stages) == set(STAGES)
    with pytest.raises(ConfigError, match=r"w.yaml:2:\d+: worker.stages\[1\]"):
        parse_config("worker:\n  stages: [poll, dedupe]\n", source="w.yaml", env={})


def test_detectors_come_from_a_file_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "d.yaml").write_text(
        "version: v1\ndetectors:\n  - {id: swap, kind: keyword, any: [prisoner exchange]}\n"
    )
    (tmp_path / "w.yaml").write_text("detectors_file: rules/d.yaml\n")
    config = load_config(tmp_path / "w.yaml", env={})
    assert [d.id for d in config.detectors] == ["swap"]
    assert config.detectors_file is None  # loaded: the config reads as if written inline


def test_a_broken_detectors_file_is_named_with_its_own_line(tmp_path: Path) -> None:
    (tmp_path / "d.yaml").write_text("detectors:\n  - {id: swap, kind: keyword, anyy: [x]}\n")
    (tmp_path / "w.yaml").write_text("detectors_file: d.yaml\n")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "w.yaml", env={})
    assert caught.value.source.endswith("w.yaml: detectors_file")
    assert any(i.startswith(f"{tmp_path / 'd.yaml'}:2:") and "anyy" in i for i in caught.value.issues)
    (tmp_path / "w.yaml").write_text("detectors_file: missing.yaml\n")
    with pytest.raises(ConfigError, match=r"missing\.yaml: cannot read the file"):
        load_config(tmp_path / "w.yaml", env={})


def test_detectors_inline_and_from_a_file_is_an_error_at_the_key() -> None:
    issues = errors_of(
        """\
        detectors:
          - {id: swap, kind: keyword, any: [prisoner exchange]}
        detectors_file: d.yaml
        """
    )
    assert len(issues) == 1
    assert issues[0].startswith("w.yaml:3:1: detectors_file:"), issues
    assert "not both" in issues[0]


def _config_keys(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every key path of the config, down to the leaves (detector kinds are documented per kind)."""
    for name, field in model.model_fields.items():
        path = (*prefix, name)
        annotation = field.annotation
        inner = typing.get_args(annotation)[0] if typing.get_origin(annotation) is tuple else annotation
        if isinstance(inner, type) and issubclass(inner, BaseModel) and name not in ("entities", "detectors"):
            yield from _config_keys(inner, path)
        else:
            yield path


def test_the_configuration_reference_names_every_key() -> None:
    """The generated reference (docs/reference) lists every key: a check of the generator itself."""
    reference = (REPO / "docs" / "reference" / "configuration.md").read_text()
    kinds = (REPO / "docs" / "reference" / "detectors.md").read_text()
    keys = list(_config_keys(WirewatchConfig))
    assert ("kafka", "security", "protocol") in keys
    assert ("detectors_file",) in keys
    # a key is written as its path within its section's table
    sections = {("entities",), ("detectors",)}  # their keys are on the detector kinds page
    assert all(f"## `{name}`" in reference for (name,) in sections)
    missing = [
        ".".join(path)
        for path in keys
        if path not in sections and f"| `{'.'.join(path[1:] or path)}` |" not in reference
    ]
    assert not missing, f"keys missing from the configuration reference: {missing}"
    common = [name for name in DetectorSpec.model_fields if f"| `{name}` |" not in kinds]
    assert not common, f"keys every detector accepts, missing from the detector kinds page: {common}"


def test_a_control_character_is_an_error_with_its_line_not_a_traceback() -> None:
    issues = errors_of("kafka:\n  topic_prefix: news.\x1f\n")
    assert issues == ["w.yaml:2:22: invalid YAML: control character U+001F is not allowed"]


def test_cli_config_check_shows_brackets_and_every_kind_of_error_at_once(tmp_path: Path) -> None:
    """A pattern's ``[a-z0-9]`` once vanished into rich markup; a schema error hid a dangling reference."""
    bad = tmp_path / "wirewatch.yaml"
    bad.write_text(
        "feeds:\n"
        "  - id: BBC News\n"
        "    url: https://example.org/rss\n"
        "detectors:\n"
        "  - id: call\n"
        "    kind: keyword\n"
        "    query: call\n"
        "  - id: raid-after-call\n"
        "    kind: sequence\n"
        "    first: missing\n"
        "    then: call\n"
        "    within: 6h\n"
    )
    result = config_check(bad)
    assert result.returncode == 3, result.stderr
    assert "^[a-z0-9][a-z0-9_.-]*$" in result.stderr
    assert f"{bad}:2:" in result.stderr  # the feed id's line
    assert f"{bad}:10:5: detectors[1].first: no detector has the id 'missing'" in result.stderr


def test_fulltext_site_rules_are_checked_at_their_line(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            fulltext:
              sites:
                Bad_Host: {fulltext: false}
                ok.example:
                  selector: "div[["
                  remov: [aside]
            """
        )
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    issues = caught.value.issues
    assert any(i.startswith(f"{path}:3:") and "fulltext.sites.Bad_Host" in i for i in issues), issues
    assert any(f"{path}:5:" in i and "not a CSS selector: 'div[['" in i for i in issues), issues
    unknown = "fulltext.sites.ok.example.remov: unknown key"
    assert any(f"{path}:6:" in i and unknown in i for i in issues), issues
    good = WirewatchConfig.model_validate({"fulltext": {"sites": {"bbc.co.uk": {"fulltext": False}}}})
    rule = good.fulltext.site_rule("WWW.BBC.co.uk.")
    assert rule is not None
    assert rule.fulltext is False
    assert good.fulltext.site_rule("notbbc.co.uk") is None
