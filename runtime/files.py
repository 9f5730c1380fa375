"""Reading and writing the files a command line names, without blocking and without harm.

`read_regular_file` is the one reading of a named file (a pipeline source, an `--inputs-json`,
a module `compile --check` compares): it reads regular files only, and at most a limit, so a
FIFO cannot hang a command and `/dev/zero` cannot fill memory. `write_file` is the one writing
(`mmoc compile -o`, `convert -o`, `fmt`, `run --trace`, a generated script's `--trace`): a
regular file is replaced all at once, through any symlink (the link stays a link); a character
device or a FIFO is written as it is, never replaced by a regular file (`--trace /dev/null`
run as root must not turn `/dev/null` into a file); anything else is refused. Both raise
`OSError` whose `strerror` says what is wrong, ready for "cannot read PATH: ..." messages.

The compiler reads and writes through these too: the runtime must not import the compiler,
and one copy is all there should be.
"""

from __future__ import annotations

import errno
import os
import stat

# The most bytes read from one named file. Real pipelines and input files are a few
# kilobytes; the compiler's limit on a pipeline source (`mmoc.limits.MAX_SOURCE_BYTES`) is this.
MAX_FILE_BYTES = 1024 * 1024

# Open flags: never wait for a FIFO's other end; never make a terminal our controlling one.
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_OPEN_FLAGS = _NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)


def read_regular_file(path: str | os.PathLike[str], limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of the regular file at `path` (symlinks followed).

    Raises `OSError`: anything that is not a regular file (a FIFO, a device, a socket, a
    directory) is refused without reading it, and a file of more than `limit` bytes is
    refused (`errno.EFBIG`) after reading only `limit + 1` of them."""
    _refuse_unless_regular(os.stat(path).st_mode)  # a device is never even opened
    # Opened without blocking all the same: the path may have become a FIFO since the stat.
    fd = os.open(path, os.O_RDONLY | _OPEN_FLAGS)
    with os.fdopen(fd, "rb") as handle:
        _refuse_unless_regular(os.fstat(fd).st_mode)
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"larger than {limit:,} bytes, the most mmoc reads")
    return data


def write_file(path: str | os.PathLike[str], data: str | bytes) -> None:
    """Write `data` (text as UTF-8, line ends as given) to `path`, creating missing folders.

    What is at `path` (symlinks followed) decides how:
    - a regular file, or nothing: a temporary file beside it, then a rename over it, so the
      file is never seen half written; through a symlink the file it points to is replaced
      and the link kept. A file that exists keeps its permissions; a new one gets what
      `open()` would give it (0o666 less the umask).
    - a character device or a FIFO: written as it is (`/dev/null`, `/dev/stdout`, a named
      pipe). A FIFO that no process reads is an error (ENXIO), not a wait.
    - anything else (a directory, a socket, a block device): refused (`OSError`).
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        mode: int | None = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None  # nothing there yet (or a symlink to nothing: its target is created)
    if mode is None or stat.S_ISREG(mode):
        _replace(os.path.realpath(path), raw, mode)
    elif stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        _write_in_place(path, raw, mode)
    else:
        raise OSError(
            errno.EISDIR if stat.S_ISDIR(mode) else errno.EINVAL,
            f"it is {_kind(mode)}; only regular files, character devices and FIFOs are written",
        )


def _replace(target: str, raw: bytes, mode: int | None) -> None:
    """`raw` into a temporary file beside `target`, then renamed over it: all or nothing."""
    folder = os.path.dirname(target)
    os.makedirs(folder, exist_ok=True)
    import tempfile  # only when writing: reading (every `mmoc check`) does not need it

    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
        # mkstemp's private 0o600 is not what the user asked for.
        os.chmod(tmp, mode & 0o777 if mode is not None else 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _write_in_place(path: str | os.PathLike[str], raw: bytes, mode: int) -> None:
    """Write to a device or FIFO as it is. Opened without blocking, so a FIFO with no reader
    fails at once; then blocking again, so a slow reader gets every byte."""
    try:
        fd = os.open(path, os.O_WRONLY | _OPEN_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ENXIO and stat.S_ISFIFO(mode):
            raise OSError(errno.ENXIO, "it is a FIFO that no process is reading") from None
        raise
    if _NONBLOCK:
        os.set_blocking(fd, True)
    with os.fdopen(fd, "wb") as handle:
        handle.write(raw)


def _refuse_unless_regular(mode: int) -> None:
    if not stat.S_ISREG(mode):
        code = errno.EISDIR if stat.S_ISDIR(mode) else errno.EINVAL
        raise OSError(code, f"it is {_kind(mode)}, not a regular file")


def _kind(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), "a special file")


def _umask() -> int:
    # Reading the umask means setting it (racy with other threads); Linux shows it in /proc.
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
