"""`[tool.mmoc]`/`mmoc.toml`, `--select`/`--ignore`/`--extend-select`/`--exit-zero`, inline
`# mmoc: ignore[...]` suppressions (MMO014 for unused ones) and `mmoc check` with no paths."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from support.cli_invoke import invoke

# MMO401 (unknown model, warning) on line 3, MMO106 (unused output, warning) on line 4.
WARNED = """pipeline w {
  output y
  step a = llm gpt-9 { prompt "hi" } -> y
  step b = llm openai/gpt-4o-mini { prompt "hi" } -> z
}
"""


def codes(stdout: str) -> list[str]:
    return [d["code"] for d in json.loads(stdout)]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "w.mmo").write_text(WARNED)
    return tmp_path


def check_json(*args: str) -> tuple[int, list[str], str]:
    code, out, err = invoke(["check", "--format", "json", *args])
    return code, codes(out) if out.strip() else [], err


def test_without_config_every_warning_is_reported(project: Path) -> None:
    assert check_json("p") == (0, ["MMO401", "MMO106"], "")


def test_pyproject_ignore_by_slug_and_strict(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        '[tool.mmoc]\nignore = ["unknown-model"]\nstrict = true\n')
    code, found, _ = check_json("p")
    assert (code, found) == (1, ["MMO106"])  # strict: the warning left fails the check


def test_mmoc_toml_select_prefix_and_extend_select(project: Path) -> None:
    (project / "mmoc.toml").write_text('select = ["MMO4"]\n')
    assert check_json("p")[1] == ["MMO401"]
    assert check_json("p", "--extend-select", "MMO106")[1] == ["MMO401", "MMO106"]


def test_command_line_select_replaces_the_config_and_ignore_removes(project: Path) -> None:
    (project / "mmoc.toml").write_text('select = ["MMO4"]\n')
    assert check_json("p", "--select", "unused-output")[1] == ["MMO106"]
    assert check_json("p", "--ignore", "MMO401")[1] == []


def test_errors_are_always_reported_and_cannot_be_ignored(project: Path) -> None:
    (project / "p" / "e.mmo").write_text(
        "pipeline e {\n  step a = llm openai/gpt-4o-mini { prompt \"{b_out}\" } -> a_out\n"
        "  step b = llm openai/gpt-4o-mini { prompt \"{a_out}\" } -> b_out\n}\n")
    code, found, _ = check_json("p/e.mmo", "--select", "MMO401")
    assert code == 1 and "MMO201" in found
    code, _, err = check_json("p", "--ignore", "dependency-cycle")
    assert code == 2 and "MMO201 is an error" in err


def test_per_file_ignores_and_exclude(project: Path) -> None:
    (project / "legacy").mkdir()
    (project / "legacy" / "old.mmo").write_text(WARNED)
    (project / "p" / "draft_x.mmo").write_text("not a pipeline")
    (project / "mmoc.toml").write_text(
        'per-file-ignores = {"legacy/" = ["MMO401", "MMO106"]}\nexclude = ["p/draft_*"]\n')
    code, found, _ = check_json(".")
    assert (code, found) == (0, ["MMO401", "MMO106"])  # only p/w.mmo's


def test_exit_zero_turns_problems_into_success_but_not_usage_errors(project: Path) -> None:
    (project / "p" / "e.mmo").write_text("pipeline {")
    assert check_json("p", "--exit-zero")[0] == 0
    assert check_json("p", "--exit-zero", "--select", "MMO999")[0] == 2


@pytest.mark.parametrize("config, message", [
    ('select = ["MMO999"]\n', "unknown diagnostic code 'MMO999'"),
    ('colour = true\n', "unknown key `colour`"),
    ('strict = "yes"\n', "`strict` must be true or false"),
    ('select = [\n', "not valid TOML"),
    ('[models]\n"bare" = {}\n', "must be written provider/model"),
    ('[models]\n"openai/ft" = {input = inf, output = 1.0}\n', "takes prices per million tokens"),
])
def test_a_bad_config_is_a_usage_error_naming_the_problem(
    project: Path, config: str, message: str
) -> None:
    (project / "mmoc.toml").write_text(config)
    code, _out, err = invoke(["check", "p"])
    assert code == 2 and message in err and "mmoc.toml" in err and "Traceback" not in err


def test_inline_suppression_on_a_line_and_on_a_step(project: Path) -> None:
    (project / "p" / "w.mmo").write_text(
        "pipeline w {\n  output y\n"
        '  step a = llm gpt-9 { prompt "hi" } -> y  # mmoc: ignore[MMO401]\n'
        "  # mmoc: ignore[unused-output]\n"
        '  step b = llm openai/gpt-4o-mini {\n    prompt "hi"\n  } -> z\n}\n')
    assert check_json("p") == (0, [], "")


def test_unused_suppressions_are_reported(project: Path) -> None:
    (project / "p" / "w.mmo").write_text(
        "pipeline w {\n  output y\n"
        '  step a = llm openai/gpt-4o-mini { prompt "hi" } -> y  '
        "# mmoc: ignore[MMO401, MMO999, dependency-cycle]\n}\n")
    _code, out, _ = invoke(["check", "--format", "json", "p"])
    messages = [(d["code"], d["message"]) for d in json.loads(out)]
    assert messages == [
        ("MMO014", "unused suppression: no MMO401 is reported here"),
        ("MMO014", "unused suppression: `MMO999` is not a diagnostic code"),
        ("MMO014", "unused suppression: MMO201 is an error"),
    ]
    assert check_json("p", "--ignore", "MMO014")[1] == []


def test_yaml_suppression(project: Path) -> None:
    (project / "p" / "w.mmo").unlink()
    (project / "p" / "w.yaml").write_text(
        "name: w\noutputs: [y]\nsteps:\n  - name: a  # mmoc: ignore[MMO401]\n"
        "    model: gpt-9\n    prompt: hi\n    output_key: y\n")
    assert check_json("p") == (0, [], "")


def test_no_paths_checks_the_project_respecting_gitignore(project: Path) -> None:
    subprocess.run(["git", "init", "-q"], check=True)
    (project / "build_out").mkdir()
    (project / "build_out" / "gen.mmo").write_text("pipeline {")
    (project / ".gitignore").write_text("build_out/\n")
    (project / "ci.yaml").write_text("on: push\n")  # the root's YAML is not a pipeline
    (project / "pyproject.toml").write_text('[tool.mmoc]\nignore = ["MMO106"]\n')
    code, out, err = invoke(["check", "--format", "json"])
    assert (code, codes(out)) == (0, ["MMO401"]), err
    assert json.loads(out)[0]["file"] == "p/w.mmo"


def test_no_paths_with_src_takes_yaml_from_those_folders(project: Path) -> None:
    (project / "other").mkdir()
    (project / "other" / "x.mmo").write_text("pipeline {")
    (project / "p" / "t.yaml").write_text("name: t\nsteps: []\n")
    (project / "mmoc.toml").write_text('src = ["p"]\n')
    _code, out, _ = invoke(["check", "--format", "json"])
    found = {(d["file"], d["code"]) for d in json.loads(out)}
    assert ("p/t.yaml", "MMO108") in found and not any(f.startswith("other") for f, _ in found)
