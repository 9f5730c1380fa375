"""`mmoc run` with special files: an `--inputs-json` that is a FIFO or a device is refused
unread (exit 2); `--trace` writes through a symlink (the link stays), into a FIFO or
character device as it is (never replaced by a regular file), and a FIFO with no reader is
an error, not a wait. Subprocesses with timeouts where the bug was a hang."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

RUN = ["run", "typed.yaml", "--mock", "-q", "-i", "topic=x", "-i", "count=2"]


@pytest.fixture
def folder(pipeline_file: Callable[[str], Path]) -> Path:
    return pipeline_file("typed.yaml").parent


def mmoc(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "mmoc", *args], capture_output=True,
                          text=True, timeout=60, check=False, cwd=folder)
    assert "Traceback" not in done.stderr and "MMO702" not in done.stderr, done.stderr
    return done


@pytest.mark.parametrize(("special", "kind"), [("fifo.json", "a FIFO"),
                                               ("/dev/zero", "a character device")])
def test_inputs_json_that_is_not_a_regular_file_is_refused_unread(
    folder: Path, special: str, kind: str
) -> None:
    if special == "fifo.json":
        os.mkfifo(folder / special)
    done = mmoc(folder, "run", "typed.yaml", "--mock", "--inputs-json", special)
    assert done.returncode == 2
    assert f"cannot read --inputs-json {special}: it is {kind}, not a regular file" in done.stderr


def test_trace_through_a_symlink_writes_its_target_and_keeps_the_link(folder: Path) -> None:
    (folder / "traces").mkdir()
    (folder / "trace.json").symlink_to("traces/latest.json")  # nothing there yet
    done = mmoc(folder, *RUN, "--trace", "trace.json")
    assert done.returncode == 0, done.stderr
    assert (folder / "trace.json").is_symlink()
    assert json.loads((folder / "traces" / "latest.json").read_text())["pipeline"] == "typed"


def test_trace_into_a_fifo_with_a_reader_is_written_into_it(folder: Path) -> None:
    fifo = folder / "trace.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        done = mmoc(folder, *RUN, "--trace", "trace.fifo")
        assert done.returncode == 0, done.stderr
        received = b""
        while chunk := os.read(reader, 65536):
            received += chunk
    finally:
        os.close(reader)
    assert json.loads(received)["pipeline"] == "typed"
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_trace_into_a_fifo_nobody_reads_is_an_error_not_a_wait(folder: Path) -> None:
    os.mkfifo(folder / "trace.fifo")
    done = mmoc(folder, *RUN, "--trace", "trace.fifo", "--trace-md", "trace.md")
    assert done.returncode == 2
    assert done.stderr.endswith(
        "error: cannot write --trace trace.fifo: it is a FIFO that no process is reading\n")
    assert stat.S_ISFIFO((folder / "trace.fifo").lstat().st_mode)


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod needs root")
def test_trace_into_a_character_device_leaves_it_a_device(folder: Path) -> None:
    # A twin of /dev/null: `--trace /dev/null` as root used to replace /dev/null with a file.
    null = folder / "null"
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    done = mmoc(folder, *RUN, "--trace", "null", "--trace-md", "null")
    assert done.returncode == 0, done.stderr
    assert stat.S_ISCHR(null.lstat().st_mode)
    assert sorted(p.name for p in folder.iterdir()) == ["null", "typed.yaml"]  # no temp file
