"""The fuzz harness itself: the property rejects each kind of violation, and the hard limits
turn a hang into a failure (a harness that let everything pass would prove nothing)."""

from __future__ import annotations

import time
from pathlib import Path

import click
import pytest
from support.fuzz import (
    TIMED_OUT,
    Hung,
    Outcome,
    assert_well_behaved,
    check_and_compile_in_subprocess,
    run_in_process,
)

LOCATED = """\
error[MMO201]: dependency cycle: a -> b -> a
 --> x.mmo:2:8
  |
2 |   step a = llm mock/x { prompt "A {b_out}" } -> a_out
  |        ^ here

found 1 error in 1 file
"""


def _outcome(code: int = 1, out: str = LOCATED, err: str = "") -> Outcome:
    return Outcome(("check", "x.mmo"), code, out, err)


def test_the_property_accepts_a_located_error() -> None:
    assert_well_behaved(_outcome())
    assert_well_behaved(_outcome(code=0, out="All checks passed: 1 file\n"))


@pytest.mark.parametrize(
    "bad",
    [
        _outcome(code=3),
        _outcome(code=-9),
        _outcome(err="Traceback (most recent call last):\n  File ...\nValueError: x\n"),
        _outcome(code=2, out="error[MMO702]: internal error while checking: ValueError\n"),
        _outcome(out="error[MMO201]: dependency cycle\n\nfound 1 error in 1 file\n"),
        _outcome(out="error[MMO201]: a\n --> x.mmo:2:8\nerror[MMO202]: b\nhelp: no place\n"),
    ],
    ids=["exit-3", "killed", "traceback", "internal-error", "no-location", "second-unlocated"],
)
def test_the_property_rejects(bad: Outcome) -> None:
    with pytest.raises((AssertionError, pytest.fail.Exception)):
        assert_well_behaved(bad)


def test_a_hang_in_process_is_cut_short(monkeypatch: pytest.MonkeyPatch) -> None:
    from support import cli_invoke
    from support import fuzz as fuzz_support

    @click.command()
    def hangs() -> None:
        time.sleep(60)

    monkeypatch.setattr(cli_invoke, "cli", hangs)
    monkeypatch.setattr(fuzz_support, "IN_PROCESS_SECONDS", 0.2)
    with pytest.raises(Hung):
        run_in_process([])


def test_an_exception_escaping_a_command_shows_as_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from support import cli_invoke

    @click.command()
    def broken() -> None:
        raise BrokenPipeError("escapes the CLI's guard")

    monkeypatch.setattr(cli_invoke, "cli", broken)
    outcome = run_in_process([])
    assert "Traceback (most recent call last)" in outcome.err
    with pytest.raises(AssertionError):
        assert_well_behaved(outcome)


def test_a_subprocess_past_its_limit_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from support import fuzz as fuzz_support

    monkeypatch.setattr(fuzz_support, "SUBPROCESS_SECONDS", 0.01)
    (outcome,) = check_and_compile_in_subprocess("x.mmo", tmp_path)
    assert outcome.code == TIMED_OUT
    with pytest.raises(AssertionError):
        assert_well_behaved(outcome)
