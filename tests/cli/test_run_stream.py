"""`mmoc run --stream`: each llm step's text shown as it arrives, the outputs as without it;
Rich on a terminal, plain text elsewhere; with `--json` the text goes to stderr."""

from __future__ import annotations

import io
import json
import re

from mmoc.cli.stream_view import StreamView
from mmoc_runtime import Retrying, StepFinished, TextDelta
from rich.console import Console
from support.cli_invoke import invoke
from support.generated import PIPELINES

SHIPPED = str(PIPELINES / "research_and_summarize.mmo")


def test_stream_prints_the_text_before_the_outputs() -> None:
    code, out, err = invoke(["run", SHIPPED, "-i", "topic=owls", "--mock", "--stream"])
    assert code == 0, err
    first_header = out.index("--- research ---\n")
    assert out.index("--- summarize ---\n") > first_header
    assert out.rindex("summary") > out.index("--- summarize ---")  # the outputs follow
    assert "Traceback" not in err


def test_stream_with_json_keeps_stdout_to_the_outputs() -> None:
    code, out, err = invoke(["run", SHIPPED, "-i", "topic=owls", "--mock", "--stream",
                             "--json"])
    assert code == 0, err
    outputs = json.loads(out)
    assert "--- summarize ---\n" + outputs["summary"] in err


def test_on_a_terminal_the_view_draws_with_rich() -> None:
    file = io.StringIO()
    view = StreamView(Console(file=file, force_terminal=True, width=40, color_system="standard"))
    for event in (TextDelta("draft", "hello "), TextDelta("draft", "world"),
                  Retrying("draft", 2, 0.0, "timeout", restarted=True),
                  TextDelta("draft", "again"), StepFinished("draft", "success", 2, 0.0, 1, 0.1)):
        view.show(event)
    styled = file.getvalue()
    assert "\x1b[" in styled
    shown = re.sub(r"\x1b\[[0-9;]*m", "", styled)
    assert shown.startswith("draft ─")  # a rule names the step
    assert "hello world\n[draft] timeout: retrying (attempt 2), the text starts again\n" in shown
    assert shown.endswith("again\n")
