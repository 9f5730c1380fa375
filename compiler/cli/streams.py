"""stdout and stderr as mmoc writes them: a failed write (`> /dev/full`, a closed
descriptor) is known for what it is, an I/O error, not a bug of mmoc. Light on purpose: the
CLI's entry point imports it before any command."""

from __future__ import annotations

import errno
import io
import os
import sys
from typing import Any

import click


class StandardStreamError(Exception):
    """Writing stdout failed (`> /dev/full`, a full disk, a closed descriptor): the command
    cannot do its job, but mmoc has no bug. Not an `OSError`, so no handler meant for a file a
    command writes takes it for one; `main` reports it with exit 2."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"cannot write to standard output: {reason}")


class _StandardStreamRaw(io.RawIOBase):
    """The bottom of the `sys.stdout` and `sys.stderr` that `watch_standard_streams` installs,
    writing to descriptor `fd` (None: it was closed when mmoc started).

    On stdout a failure is a `StandardStreamError`; a broken pipe stays `BrokenPipeError`, so
    a reader leaving early (`| head`) still ends quietly. On stderr a failure only stops what
    follows from being written: progress and messages are not worth losing the command's
    work for, and there is nowhere left to report it."""

    def __init__(self, fd: int | None, fatal: bool) -> None:
        super().__init__()
        self.fd = fd
        self.fatal = fatal
        self.discarding = False

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        if self.fd is None:
            raise OSError(errno.EBADF, os.strerror(errno.EBADF))
        return self.fd

    def isatty(self) -> bool:
        return self.fd is not None and os.isatty(self.fd)

    def write(self, data: Any) -> int:
        if self.discarding:
            return len(data)
        try:
            return os.write(self.fileno(), data)
        except BrokenPipeError:
            if self.fatal:
                raise
        except OSError as exc:
            if self.fatal:
                raise StandardStreamError(exc.strerror or str(exc)) from exc
        self.discarding = True
        return len(data)


def watch_standard_streams() -> None:
    """Put `_StandardStreamRaw` under `sys.stdout` and `sys.stderr` (same encoding, errors and
    buffering), so a failed write anywhere (Rich, click, print) is known for what it is. A
    closed stdout is watched too (its first write fails); a closed stderr is left as Python
    leaves it (None: nothing is written); a stream that is not the process's own descriptor
    (a test's capture) is left alone."""
    for name, fd in (("stdout", 1), ("stderr", 2)):
        stream = getattr(sys, name)
        if stream is None and name == "stderr":
            continue
        if stream is not None:
            try:
                if stream.fileno() != fd:
                    continue
            except (OSError, ValueError):
                continue
            stream.flush()
        raw = _StandardStreamRaw(None if stream is None else fd, fatal=name == "stdout")
        setattr(sys, name, io.TextIOWrapper(
            io.BufferedWriter(raw),
            encoding=getattr(stream, "encoding", None) or "utf-8",
            errors=getattr(stream, "errors", None) or "strict",
            line_buffering=getattr(stream, "line_buffering", False),
            write_through=getattr(stream, "write_through", False),
        ))


def report_stream_error(exc: StandardStreamError) -> None:
    """`error: cannot write to standard output: No space left on device` on stderr; then what
    is still buffered for stdout is dropped, so Python's flush at exit has nothing to fail on
    (and no traceback of its own to print)."""
    click.echo(f"error: {exc}", err=True)
    raw = getattr(getattr(sys.stdout, "buffer", None), "raw", None)
    if isinstance(raw, _StandardStreamRaw):
        raw.discarding = True
