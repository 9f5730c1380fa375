"""The language server's answers computed in-process from a snapshot (no protocol): YAML
names, renames that keep the meaning, quick-fix text, and what a syntax error keeps."""

from __future__ import annotations

from pathlib import Path

from mmoc.config import Config
from mmoc.diagnostics.model import Diagnostic
from mmoc.lsp import features
from mmoc.lsp.snapshot import Snapshot, analyse
from mmoc.source import Span

YAML = """name: demo
retry_policies:
  patient:
    max_retries: 3
steps:
  - name: research
    model: openai/gpt-4o-mini
    prompt: "About {topic}"
    retry: patient
  - name: summarize
    model: openai/gpt-4o-mini
    prompt: "Summarize {research_output}"
    depends_on: [research]
"""


def snap(text: str, name: str = "p.mmo", previous: Snapshot | None = None) -> Snapshot:
    return analyse(text, Path("/nowhere") / name, Config(), previous)


def test_yaml_names_resolve_to_their_definitions() -> None:
    s = snap(YAML, "p.yaml")
    (step,) = features.definition(s, 13, 18)  # `research` in depends_on
    assert (step.line, step.column, step.end_column) == (6, 11, 19)
    (policy,) = features.definition(s, 9, 13)  # `retry: patient`
    assert (policy.line, policy.column) == (3, 3)  # the key naming the policy
    (key,) = features.definition(s, 12, 25)  # {research_output}: the step's implicit key
    assert key.line == 6


def test_renaming_a_step_with_an_implicit_key_renames_the_key_too() -> None:
    s = snap(YAML, "p.yaml")
    edits = features.rename(s, 6, 12, "dig")
    assert isinstance(edits, list)
    assert sorted((e.span.line, e.new_text) for e in edits) == [
        (6, "dig"), (12, "dig_output"), (13, "dig")]


def test_rename_refuses_a_non_name() -> None:
    s = snap(YAML, "p.yaml")
    assert features.rename(s, 6, 12, "two words") == (
        "`two words` is not a name (letters, digits and `_`, not first a digit)")


def test_quick_fix_replaces_only_the_part_it_corrects() -> None:
    text = "pipeline demo {\n  step a = llm opnai/gpt-4o { prompt \"hi\" }\n}\n"
    s = snap(text)
    (bad,) = [d for d in s.diagnostics if d.code == "MMO402"]
    assert features.suggested_fix(bad, text.split("\n")) == "openai/gpt-4o"
    plain = Diagnostic("MMO502", "x", Span.point("f", 1, 1, 3), help="did you mean `abc`?")
    assert features.suggested_fix(plain, ["abd"]) == "abc"


def test_a_syntax_error_keeps_findings_on_untouched_lines_only() -> None:
    text = ('pipeline demo {\n  input topic\n  step a = llm openai/gpt-4o-mini {\n'
            '    prompt "{x} {topic}"\n    temperature 5\n  } -> out\n  output out\n}\n')
    good = snap(text)
    assert sorted(d.code for d in good.diagnostics) == ["MMO301", "MMO507"]
    # break line 4 (the prompt): its MMO301 goes, the temperature's MMO507 stays
    broken = snap(text.replace('prompt "{x} {topic}"', 'prompt "{x} {topic}'), previous=good)
    assert not broken.parsed
    assert sorted((d.code, d.span.line) for d in broken.diagnostics if d.span) == [
        ("MMO009", 4), ("MMO507", 5)]
    # a second broken edit still carries from the last text that parsed
    again = snap(text.replace('prompt "{x} {topic}"', 'prompt "{x} {topic}').replace("output out", "output out,"),
                 previous=broken)
    assert again.base is good
    assert ("MMO507", 5) in [(d.code, d.span.line) for d in again.diagnostics if d.span]


def test_the_projects_configuration_applies(tmp_path: Path) -> None:
    from mmoc.lsp.snapshot import project_config

    (tmp_path / "pyproject.toml").write_text(
        '[tool.mmoc]\nignore = ["unused-output"]\n'
        '[tool.mmoc.models]\n"openai/ft:mine" = {input = 1.0, output = 2.0}\n')
    text = ('pipeline demo {\n  step a = llm openai/ft:mine { prompt "hi" } -> unused\n'
            '  step b = llm openai/gpt-4o-mini { prompt "hi" } -> out\n  output out\n}\n')
    path = tmp_path / "p.mmo"
    config, error = project_config(path)
    assert error is None
    with_config = analyse(text, path, config)
    assert with_config.diagnostics == []  # the declared model is known, MMO106 is ignored
    assert "$1 in, $2 out per million tokens (config)" in (features.hover(with_config, 2, 8)
                                                           or "")
    without = analyse(text, path, Config())
    assert sorted(d.code for d in without.diagnostics) == ["MMO106", "MMO401"]


def test_no_feature_fails_anywhere_in_the_shipped_pipelines() -> None:
    root = Path(__file__).resolve().parents[2] / "pipelines"
    sources = sorted([*root.glob("*.mmo"), *root.glob("*.yaml")])
    assert sources
    for source in sources:
        s = analyse(source.read_text(), source, Config())
        assert s.parsed and s.diagnostics == [], source
        assert features.symbols(s)
        lines = s.text.split("\n")
        answered = 0
        for line, text in enumerate(lines, start=1):
            for column in range(1, len(text) + 2, 3):
                answered += features.hover(s, line, column) is not None
                features.definition(s, line, column)
                features.references(s, line, column, True)
                features.completions(s, line, column)
        assert answered > 10, source
        if source.suffix == ".mmo":
            assert features.formatted(s) == s.text  # the shipped files are canonical
