"""Detector kinds from other packages (the ``wirewatch.detectors`` entry point): found, validated like
built-in kinds, and skipped with a warning when broken. Each case runs a fresh interpreter, as a
worker starting with the plugin installed would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.plugins import install_plugin

REPO_ROOT = Path(__file__).resolve().parents[3]

PROBE = """
import yaml
from detectors.registry import KINDS
from monitor.loading import parse_config
from monitor.errors import ConfigError
print("kinds:", ",".join(sorted(KINDS)))
text = yaml.safe_dump({"detectors": [{"id": "f", "kind": "faulty", "fails_on": "x", "error_limit": 2}]})
try:
    config = parse_config(text, "w.yaml")
    print("config:", type(config.detectors[0]).__name__, config.detectors[0].fails_on)
except ConfigError as exc:
    print("error:", exc)
"""


def probe(site: Path) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join([str(REPO_ROOT), str(site)])
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def test_a_plugin_kind_is_registered_and_validated_like_a_built_in_one(tmp_path: Path) -> None:
    site = install_plugin(tmp_path, {"faulty": "tests.plugins.faulty_kind:FaultySpec"})
    out = probe(site).stdout
    assert "kinds: all,any,burst,entity,faulty,keyword,novelty,semantic,sequence" in out
    assert "config: FaultySpec x" in out


def test_broken_plugins_are_skipped_with_a_warning_and_built_in_kinds_still_work(tmp_path: Path) -> None:
    site = install_plugin(
        tmp_path,
        {
            "missing": "tests.plugins.no_such_module:Spec",
            "keyword": "tests.plugins.faulty_kind:FaultySpec",  # would replace a built-in kind
            "notaspec": "tests.plugins:install_plugin",
            "faulty": "tests.plugins.faulty_kind:FaultySpec",
            "renamed": "tests.plugins.faulty_kind:FaultySpec",  # its `kind` says faulty
        },
    )
    done = probe(site)
    assert "kinds: all,any,burst,entity,faulty,keyword,novelty,semantic,sequence" in done.stdout
    warnings = done.stderr
    faulty = "(tests.plugins.faulty_kind:FaultySpec): skipped"
    assert "plugin 'missing' (tests.plugins.no_such_module:Spec): skipped, it failed to load" in warnings
    assert f"plugin 'keyword' {faulty}, the kind 'keyword' exists already" in warnings
    assert "plugin 'notaspec' (tests.plugins:install_plugin): skipped, it is not a DetectorSpec" in warnings
    assert f"plugin 'renamed' {faulty}, its `kind` field must be Literal['renamed']" in warnings


def test_without_the_plugin_its_kind_is_an_error_naming_the_known_kinds(tmp_path: Path) -> None:
    out = probe(tmp_path).stdout
    assert "faulty" not in out.split("\n")[0]
    assert "error: w.yaml:" in out
    assert "'faulty'" in out
    assert "'keyword'" in out
