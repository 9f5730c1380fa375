"""Special files as what a command reads, and a stdout that cannot be written.

A FIFO or `/dev/zero` named as the pipeline is MMO001 at file:1:1 (exit 1), read not at all,
in every command (it used to hang `run` and `graph`: the diagnostic's renderer read the file
again); so is a symlink loop (it was MMO702). A stdout that is full (`> /dev/full`) or closed is "error: cannot write to standard
output: ..." with exit 2, never MMO702 nor a traceback. Each case is a subprocess with a
timeout: the bugs were hangs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CLEAN = """\
pipeline p {
  input topic: str
  step a = llm mock/m { prompt "Hello {topic}" } -> out
}
"""


def mmoc(*args: str, stdout: int | None = subprocess.PIPE,
         cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "mmoc", *args], stdout=stdout,
                          stderr=subprocess.PIPE, text=True, timeout=60, check=False, cwd=cwd)
    assert "Traceback" not in done.stderr and "MMO702" not in done.stderr, done.stderr
    return done


COMMANDS = {
    "check": ["check"],
    "compile": ["compile", "-o", "{tmp}/out.py"],
    "run": ["run", "--mock", "-i", "topic=x"],
    "graph": ["graph"],
    "convert": ["convert", "-o", "{tmp}/out.yaml"],
    "fmt": ["fmt"],
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("special", ["fifo", "/dev/zero", "symlink loop"])
def test_a_fifo_device_or_link_loop_as_the_pipeline_is_mmo001_unread(
    tmp_path: Path, command: str, special: str
) -> None:
    source = tmp_path / "p.mmo"
    shown = "p.mmo"
    if special == "fifo":
        os.mkfifo(source)
        why = "it is a FIFO, not a regular file"
    elif special == "symlink loop":  # Path.resolve raised RuntimeError: MMO702
        source.symlink_to("p.mmo")
        why = "Too many levels of symbolic links"
    else:
        source, shown, why = Path(special), special, "it is a character device, not a regular file"
    name, *options = (a.replace("{tmp}", str(tmp_path)) for a in COMMANDS[command])
    done = mmoc(name, str(source), *options, cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    said = done.stdout + done.stderr
    assert f"error[MMO001]: cannot read `{shown}`: {why}" in said
    assert f"--> {shown}:1:1" in said


def test_a_source_over_the_size_limit_is_mmo012_at_its_start(tmp_path: Path) -> None:
    from mmoc.driver import load_path
    from mmoc.limits import MAX_SOURCE_BYTES

    big = tmp_path / "big.mmo"
    big.write_bytes(b"#" * (MAX_SOURCE_BYTES + 1))
    loaded = load_path(big, display="big.mmo")
    assert [(d.code, d.span.line, d.span.column) for d in loaded.diagnostics
            if d.span is not None] == [("MMO012", 1, 1)]
    assert loaded.text is None  # stopped reading at the limit


FULL_STDOUT = {
    "check": ["check", "p.mmo"],
    "check --format json": ["check", "--format", "json", "p.mmo"],
    "convert -o -": ["convert", "p.mmo", "-o", "-", "--to", "yaml"],
    "run --json": ["run", "p.mmo", "--mock", "-i", "topic=x", "--json", "-q"],
    "run": ["run", "p.mmo", "--mock", "-i", "topic=x", "-q"],
    "graph": ["graph", "p.mmo"],
    "compile --diff": ["compile", "p.mmo", "--diff"],
}


@pytest.mark.parametrize("case", FULL_STDOUT)
def test_a_full_stdout_is_an_io_error_not_mmo702(tmp_path: Path, case: str) -> None:
    (tmp_path / "p.mmo").write_text(CLEAN, encoding="utf-8")
    with open("/dev/full", "w") as full:
        done = mmoc(*FULL_STDOUT[case], stdout=full.fileno(), cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.endswith(
        "error: cannot write to standard output: No space left on device\n"), done.stderr


def test_a_closed_stdout_is_an_io_error(tmp_path: Path) -> None:
    (tmp_path / "p.mmo").write_text(CLEAN, encoding="utf-8")
    done = subprocess.run(
        ["sh", "-c", f'exec "{sys.executable}" -m mmoc check p.mmo >&-'],
        capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
    )
    assert done.returncode == 2
    assert done.stderr == "error: cannot write to standard output: Bad file descriptor\n"


def test_a_full_stderr_does_not_stop_the_command(tmp_path: Path) -> None:
    # Progress and messages are dropped when stderr cannot take them; the work goes on.
    (tmp_path / "p.mmo").write_text(CLEAN, encoding="utf-8")
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "mmoc", "run", "p.mmo", "--mock", "-i", "topic=x", "--json"],
            stdout=subprocess.PIPE, stderr=full, text=True, timeout=60, check=False,
            cwd=tmp_path,
        )
    assert done.returncode == 0
    assert done.stdout.startswith('{"out": ')


def test_fmt_reports_a_file_it_cannot_write_with_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Root writes anywhere, so the disk is made full instead; it was MMO702.
    import errno

    from click.testing import CliRunner
    from mmoc.cli import cli
    from mmoc.cli import fmt as fmt_module

    def full(path: Path, text: str | bytes) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(fmt_module, "write_output", full)
    source = tmp_path / "p.mmo"
    source.write_text(CLEAN.replace("  input", "input"), encoding="utf-8")  # not canonical
    result = CliRunner().invoke(cli, ["fmt", str(source)])
    assert result.exit_code == 2, result.output
    assert f"error: cannot write {source.as_posix()}: No space left on device" in result.stderr
    assert "0 files reformatted, 0 unchanged, 1 not written" in result.stderr
