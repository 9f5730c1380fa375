"""The skeleton: both packages import under their own names and the CLI reports its version."""

import subprocess
import sys


def test_cli_version() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mmoc", "--version"], capture_output=True, text=True, check=True
    )
    assert "mmoc" in out.stdout and "0.1.0" in out.stdout


def test_grammar_ships_as_package_data() -> None:
    from importlib.resources import files

    assert files("mmoc.grammar").joinpath("mmo.lark").is_file()
