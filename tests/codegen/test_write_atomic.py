"""`mmoc_runtime.files.write_file`: all at once, `\\n` endings, permissions as `open()` gives them;
through symlinks; a device or FIFO written as it is, never replaced; anything else refused."""

from __future__ import annotations

import errno
import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from mmoc_runtime.files import write_file as write_atomic


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


# ---- what is at the path decides how it is written (mmoc_runtime.files.write_file) --------

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="mknod needs root")


def device_twin(path: Path, minor: int) -> Path:
    """A character device node in tmp: minor 3 is /dev/null's twin, 7 /dev/full's. Tests run
    as root, where a write that replaced the real one would destroy it."""
    os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, minor))
    return path


def test_a_symlink_stays_a_link_and_its_target_is_written(tmp_path: Path) -> None:
    real = tmp_path / "real.py"
    real.write_text("old\n")
    link = tmp_path / "link.py"
    link.symlink_to(real.name)
    write_atomic(link, "new\n")
    assert link.is_symlink() and os.readlink(link) == real.name
    assert real.read_text() == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.py", "real.py"]


def test_a_dangling_symlink_gets_its_target_created(tmp_path: Path) -> None:
    link = tmp_path / "link.py"
    link.symlink_to("sub/made.py")
    write_atomic(link, "new\n")
    assert link.is_symlink() and (tmp_path / "sub" / "made.py").read_text() == "new\n"


@needs_root
def test_a_character_device_is_written_as_it_is(tmp_path: Path) -> None:
    null = device_twin(tmp_path / "null", 3)
    write_atomic(null, "into the void\n")
    assert stat.S_ISCHR(null.lstat().st_mode)  # still a device, not a regular file
    full = device_twin(tmp_path / "full", 7)
    with pytest.raises(OSError) as caught:
        write_atomic(full, "x\n")
    assert caught.value.errno == errno.ENOSPC
    assert stat.S_ISCHR(full.lstat().st_mode)


def test_a_fifo_with_a_reader_is_written_as_it_is(tmp_path: Path) -> None:
    fifo = tmp_path / "trace.json"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader that is there, not waiting
    try:
        write_atomic(fifo, "through the pipe\n")  # small: fits the pipe's buffer
        assert os.read(reader, 1000) == b"through the pipe\n"
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_a_fifo_without_a_reader_is_an_error_not_a_wait(tmp_path: Path) -> None:
    fifo = tmp_path / "trace.json"
    os.mkfifo(fifo)
    with pytest.raises(OSError) as caught:
        write_atomic(fifo, "nobody listens\n")
    assert caught.value.errno == errno.ENXIO
    assert caught.value.strerror == "it is a FIFO that no process is reading"
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_a_directory_or_socket_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "out.py"
    folder.mkdir()
    with pytest.raises(OSError, match="it is a directory; only regular files, character "
                                      "devices and FIFOs are written"):
        write_atomic(folder, "x\n")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "sock"))
        with pytest.raises(OSError, match="it is a socket"):
            write_atomic(tmp_path / "sock", "x\n")
    assert folder.is_dir() and stat.S_ISSOCK((tmp_path / "sock").lstat().st_mode)
