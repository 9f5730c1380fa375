"""Global options: -V, -q, -v, --color (over NO_COLOR/FORCE_COLOR), and shell completion."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from mmoc.cli import cli

CLEAN = 'pipeline t {\n  output y\n  step a = llm mock/x { prompt "hi" } -> y\n}\n'
WARNED = 'pipeline t {\n  output y\n  step a = llm gpt-9 { prompt "hi" } -> y\n}\n'


def run(args: list[str], **env: str | None) -> tuple[int, str, str]:
    result = CliRunner(env={"MMOC_DEBUG": None, "NO_COLOR": None, "FORCE_COLOR": None, **env}
                       ).invoke(cli, args)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(autouse=True)
def sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "clean.mmo").write_text(CLEAN)
    (tmp_path / "warned.mmo").write_text(WARNED)


def test_dash_capital_v_prints_the_version() -> None:
    code, out, _ = run(["-V"])
    assert code == 0 and out.startswith("mmoc, version ")


def test_quiet_leaves_only_diagnostics_and_errors() -> None:
    assert run(["check", "clean.mmo"])[1] == "All checks passed: 1 file\n"
    assert run(["-q", "check", "clean.mmo"])[:2] == (0, "")
    code, _, err = run(["compile", "clean.mmo"])
    assert code == 0 and "wrote clean_gen.py" in err
    (Path("clean_gen.py")).unlink()
    assert run(["-q", "compile", "clean.mmo"]) == (0, "", "")
    code, out, _ = run(["-q", "check", "warned.mmo"])
    assert code == 0 and "MMO401" in out  # diagnostics are never silenced


def test_verbose_names_the_configuration() -> None:
    Path("mmoc.toml").write_text("strict = false\n")
    code, _, err = run(["-v", "check", "clean.mmo"])
    assert code == 0 and f"configuration: {Path('mmoc.toml').absolute()}" in err


@pytest.mark.parametrize("args, env, coloured", [
    (["--color", "always"], {}, True),
    (["--color", "always"], {"NO_COLOR": "1"}, True),  # the option wins over the variable
    (["--color", "never"], {"FORCE_COLOR": "1"}, False),
    ([], {"FORCE_COLOR": "1"}, True),
    ([], {}, False),  # auto, and CliRunner's stdout is not a terminal
])
def test_color_option_and_environment(args: list[str], env: dict[str, str], coloured: bool) -> None:
    out = run([*args, "check", "warned.mmo"], **env)[1]
    assert ("\x1b[" in out) == coloured and "MMO401" in out


def test_shell_completion_is_click_s() -> None:
    env = {**os.environ, "_MMOC_COMPLETE": "bash_source"}
    script = subprocess.run([sys.executable, "-m", "mmoc"], env=env, check=False,
                            capture_output=True, text=True, timeout=60)
    assert "_mmoc_completion" in script.stdout
    env = {**os.environ, "_MMOC_COMPLETE": "bash_complete", "COMP_WORDS": "mmoc ch",
           "COMP_CWORD": "1"}
    words = subprocess.run([sys.executable, "-m", "mmoc"], env=env, check=False,
                           capture_output=True, text=True, timeout=60)
    assert words.stdout.split() == ["plain,check"]
