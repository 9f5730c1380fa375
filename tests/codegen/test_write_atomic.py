"""`mmoc.compile.write_atomic`: all at once, `\\n` endings, permissions as `open()` gives them."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from mmoc.compile import write_atomic


@pytest.fixture
def umask() -> Iterator[None]:
    previous = os.umask(0o022)
    os.umask(previous)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_files_respect_the_umask(umask: None, tmp_path: Path, mask: int, expected: int) -> None:
    os.umask(mask)
    target = tmp_path / "out.py"
    write_atomic(target, "a\nb\n")
    assert mode(target) == expected
    assert target.read_bytes() == b"a\nb\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.py"]  # no temporary file left


def test_existing_files_keep_their_mode(umask: None, tmp_path: Path) -> None:
    os.umask(0o022)
    target = tmp_path / "out.py"
    target.write_text("old")
    target.chmod(0o640)
    write_atomic(target, "new\n")
    assert mode(target) == 0o640 and target.read_text() == "new\n"
