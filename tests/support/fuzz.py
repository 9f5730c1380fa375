"""Shared by the fuzz tests: run `mmoc check` and `mmoc compile` on hostile input, in process
(fast) or in a subprocess (for what could block or blow up the test process), always under a
hard time limit, and assert the property every run must hold.

The property: the command ends in time, exits 0, 1 or 2, never prints a Python traceback nor
an internal error (MMO702), and every error it prints names `file:line:col`.

The number of generated examples per property is small in the suite (seconds in all) and
set by `MMOC_FUZZ_EXAMPLES` for a long run (`make fuzz`), which also runs every bomb and
special file where the suite runs one of each kind. The suite's run is derandomized
so it is the same every time; a long run explores new examples each time.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO

import pytest
from hypothesis import HealthCheck, settings
from support.cli_invoke import invoke, kept

ROOT = Path(__file__).resolve().parents[2]
PIPELINES = ROOT / "pipelines"
EXAMPLES_ENV = "MMOC_FUZZ_EXAMPLES"
# Hard limits, generous on purpose: a healthy run takes well under a second. They turn a hang
# into a failure instead of a stuck suite; they are not timings.
IN_PROCESS_SECONDS = 60.0
SUBPROCESS_SECONDS = 60.0
# A subprocess may not take more address space than this, so a bomb fails the test instead of
# exhausting the machine's memory.
SUBPROCESS_MEMORY = 2 << 30
CLI_INVOKE = Path(__file__).with_name("cli_invoke.py")
# Exit statuses reported for a subprocess killed at its hard limit (as `timeout(1)` does) and
# for one that exited 0 without printing its report; neither is 0, 1 or 2.
TIMED_OUT = 124
NO_REPORT = 125

TRACEBACK = "Traceback (most recent call last)"
INTERNAL_ERROR = "[MMO702]"
ERROR_HEAD = re.compile(r"^error\[MMO\d{3}\]")
LOCATION = re.compile(r"^\s*--> .+:\d+:\d+\s*$")
# What ends a diagnostic's text: the next diagnostic, or the summary line.
DIAGNOSTIC_END = re.compile(r"^([a-z]+\[MMO\d{3}\]|found \d+ |All checks passed)")


def long_run() -> bool:
    return bool(os.environ.get(EXAMPLES_ENV))


def fuzz_settings(suite_examples: int, long_share: int = 1) -> settings:
    """Hypothesis settings for one fuzz property: `suite_examples` in the suite, derandomized;
    in a long run, random, `MMOC_FUZZ_EXAMPLES` examples (divided by `long_share` for a
    property whose examples are slow, such as megabyte-long lines)."""
    if long_run():
        count = max(suite_examples, int(os.environ[EXAMPLES_ENV]) // long_share)
    else:
        count = suite_examples
    return settings(
        max_examples=count,
        deadline=None,
        derandomize=not long_run(),
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


@dataclass(frozen=True)
class Outcome:
    args: tuple[str, ...]
    code: int
    out: str
    err: str

    def describe(self) -> str:
        return f"`mmoc {' '.join(self.args)}` exited {self.code}\n{self.out}\n{self.err}"


def assert_well_behaved(outcome: Outcome) -> None:
    """The fuzz property (see the module docstring)."""
    shown = outcome.describe()[:4000]
    assert outcome.code in (0, 1, 2), shown
    text = outcome.out + "\n" + outcome.err
    assert TRACEBACK not in text, shown
    assert INTERNAL_ERROR not in text, shown
    for problem in _errors_without_location(text):
        pytest.fail(f"an error does not name file:line:col: {problem!r}\n{shown}")


def _errors_without_location(text: str) -> Iterator[str]:
    """Each `error[MMOnnn]` with no `--> file:line:col` before the next diagnostic or the
    summary (a message may quote source text over several lines)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if not ERROR_HEAD.match(line):
            continue
        for following in lines[i + 1 :]:
            if LOCATION.match(following):
                break
            if DIAGNOSTIC_END.match(following):
                yield line
                break
        else:
            yield line


class Hung(BaseException):
    """Raised in the test process when an in-process run passes its hard limit. Not an
    `Exception`, so neither the CLI's guard nor CliRunner turns it into an exit code."""


@contextlib.contextmanager
def hard_deadline(seconds: float) -> Iterator[None]:
    def expire(signum: int, frame: FrameType | None) -> None:
        raise Hung(f"did not end within {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_in_process(args: Sequence[str]) -> Outcome:
    """`mmoc ARGS` through click's CliRunner, in this process, under the hard limit."""
    with hard_deadline(IN_PROCESS_SECONDS):
        code, out, err = invoke(args)
    return Outcome(tuple(args), code, out, err)


def check_and_compile(source: Path, out_dir: Path) -> list[Outcome]:
    """`mmoc check SOURCE` and `mmoc compile SOURCE -o OUT_DIR/fuzz_gen.py`, in process."""
    return [run_in_process(args) for args in _check_and_compile_args(source, out_dir)]


def check_and_compile_in_subprocess(source: str | Path, cwd: Path) -> list[Outcome]:
    """The same two commands run in one fresh process (cli_invoke.py) started in `cwd`,
    with a hard timeout and a memory cap. A process that dies, or prints something that
    is not the driver's report, gives one outcome holding its exit status and output."""
    commands = _check_and_compile_args(source, cwd)
    env = {k: v for k, v in os.environ.items() if k != "MMOC_DEBUG"}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.run(
                [sys.executable, str(CLI_INVOKE), json.dumps(commands)],
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=env,
                timeout=SUBPROCESS_SECONDS,
                preexec_fn=_cap_memory,
                check=False,
            )
        except subprocess.TimeoutExpired:  # subprocess.run has killed it
            late = f"did not end within {SUBPROCESS_SECONDS:g} s"
            return [Outcome(("check/compile", str(source)), TIMED_OUT, "", late)]
        printed, complained = _read(out), _read(err)
    try:
        reports = json.loads(printed) if proc.returncode == 0 else None
    except ValueError:
        reports = None
    if not isinstance(reports, list):
        # The process died (a signal gives a negative status) or printed no report.
        status = proc.returncode if proc.returncode != 0 else NO_REPORT
        return [Outcome(("check/compile", str(source)), status, kept(printed), kept(complained))]
    outcomes = [
        Outcome(tuple(args), *report) for args, report in zip(commands, reports, strict=True)
    ]
    # Anything the process printed besides the report (a warning, a traceback) is checked too.
    return outcomes + [Outcome(("(process)",), 0, "", kept(complained))]


def _check_and_compile_args(source: str | Path, out_dir: Path) -> list[list[str]]:
    return [["check", str(source)], ["compile", str(source), "-o", str(out_dir / "fuzz_gen.py")]]


def _cap_memory() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = SUBPROCESS_MEMORY if hard == resource.RLIM_INFINITY else min(hard, SUBPROCESS_MEMORY)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


def _read(handle: IO[bytes]) -> str:
    handle.seek(0)
    return handle.read().decode("utf-8", "replace")


def shipped_sources() -> list[Path]:
    """The shipped pipelines, both languages: the seeds the mutation fuzzer starts from."""
    return sorted(p for p in PIPELINES.iterdir() if p.suffix in (".mmo", ".yaml"))
