"""The streaming entry points: a shipped generated module's `stream`, its script's `--stream`,
and the plain `TextPrinter` both share with `mmoc run --stream`."""

from __future__ import annotations

import asyncio
import importlib.util
import io
import json
import subprocess
import sys
from types import ModuleType

import pytest
from mmoc_runtime import (
    Event,
    FallbackUsed,
    Retrying,
    RunFinished,
    StepFinished,
    StepStarted,
    TextDelta,
)
from mmoc_runtime.streaming_text import TextPrinter
from support.generated import PIPELINES


def shipped(name: str) -> ModuleType:
    path = PIPELINES / f"{name}_gen.py"
    spec = importlib.util.spec_from_file_location(f"shipped_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_generated_module_streams_its_run() -> None:
    module = shipped("research_and_summarize")

    async def go() -> list[Event]:
        return [e async for e in module.stream({"topic": "owls"}, mock=True)]

    events = asyncio.run(go())
    started = [e.step for e in events if isinstance(e, StepStarted)]
    assert started == ["research", "extract_key_points", "summarize"]
    done = events[-1]
    assert isinstance(done, RunFinished) and done.success
    summary = "".join(e.text for e in events if isinstance(e, TextDelta) and e.step == "summarize")
    assert done.outputs["summary"] == summary
    assert done.outputs == asyncio.run(module.run({"topic": "owls"}, mock=True))


def test_a_generated_script_streams_text_on_stderr_and_outputs_on_stdout() -> None:
    proc = subprocess.run(
        [sys.executable, str(PIPELINES / "research_and_summarize_gen.py"), "-i", "topic=owls",
         "--mock", "--stream"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    outputs = json.loads(proc.stdout)  # stdout is the outputs' JSON alone
    assert proc.stderr.startswith("--- research ---\n")
    assert "--- summarize ---\n" + outputs["summary"] in proc.stderr


def show(events: list[Event]) -> str:
    out = io.StringIO()
    printer = TextPrinter(out)
    for event in events:
        printer.show(event)
    return out.getvalue()


def test_the_printer_repeats_the_header_when_parallel_steps_alternate() -> None:
    text = show([TextDelta("a", "one "), TextDelta("b", "uno "), TextDelta("a", "two"),
                 StepFinished("a", "success", 1, 0.0, 0.1, 0.01),
                 TextDelta("b", "dos"), StepFinished("b", "success", 1, 0.0, 0.1, 0.01)])
    assert text == "--- a ---\none \n--- b ---\nuno \n--- a ---\ntwo\n--- b ---\ndos\n"


@pytest.mark.parametrize(("event", "notice"), [
    (Retrying("a", 2, 0.5, "stream_interrupted", restarted=True),
     "[a] stream_interrupted: retrying (attempt 2), the text starts again"),
    (FallbackUsed("a", "openai/x", "gemini/y", restarted=True),
     "[a] falling back to gemini/y, the text starts again"),
])
def test_the_printer_says_when_the_text_starts_again(event: Event, notice: str) -> None:
    text = show([TextDelta("a", "half"), event, TextDelta("a", "whole")])
    assert text == f"--- a ---\nhalf\n{notice}\n--- a ---\nwhole"


def test_a_retry_before_any_text_shows_nothing() -> None:
    assert show([Retrying("a", 2, 0.5, "rate_limit"), TextDelta("a", "hi")]) == "--- a ---\nhi"


def test_importing_and_running_a_module_without_streaming_loads_no_streaming_code() -> None:
    code = (
        "import asyncio, json, sys\n"
        f"sys.path.insert(0, {str(PIPELINES)!r})\n"
        "import research_and_summarize_gen as m\n"
        "asyncio.run(m.run({'topic': 'owls'}, mock=True))\n"
        "print(json.dumps(sorted(n for n in sys.modules if n.startswith('mmoc_runtime.')"
        " and ('stream' in n or 'events' in n or n.endswith('.sse')))))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []
