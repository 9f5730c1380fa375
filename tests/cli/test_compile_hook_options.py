"""`mmoc compile --exit-non-zero-on-write` (exit 1 when a module is written or changed, as
black in pre-commit) and `--brief` (no diagnostics, one line per source not compiled)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.cli_invoke import invoke

CLEAN = 'pipeline t {\n  output y\n  step a = llm mock/x { prompt "hi" } -> y\n}\n'


@pytest.fixture(autouse=True)
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_exit_non_zero_on_write_only_when_something_was_written() -> None:
    Path("t.mmo").write_text(CLEAN)
    assert invoke(["compile", "--exit-non-zero-on-write", "t.mmo"])[0] == 1  # new module
    assert invoke(["compile", "--exit-non-zero-on-write", "t.mmo"])[0] == 0  # up to date
    Path("t.mmo").write_text(CLEAN.replace('"hi"', '"hello"'))
    assert invoke(["compile", "--exit-non-zero-on-write", "t.mmo"])[0] == 1  # changed
    assert invoke(["compile", "t.mmo"])[0] == 0  # without the option, writing is success


def test_brief_prints_no_diagnostics() -> None:
    Path("b.mmo").write_text("pipeline b {\n  step a = llm gpt-9 { prompt \"{x}\" } -> y\n")
    code, out, err = invoke(["compile", "--brief", "b.mmo"])
    assert code == 1 and out == "" and "MMO" not in err
    assert err == "error: b.mmo has errors, not compiled (`mmoc check b.mmo` shows them)\n"
