"""What `mmoc run` shows while a pipeline runs: a `PipelineObserver` drawing on stderr.

On a terminal it is a Rich live table, one row per step (group members indented under their
group) with its state (waiting, running, retrying, done, failed, skipped, not run), model,
latency and tokens. Elsewhere (a pipe, CI logs) it prints one plain line per event instead, so
logs stay readable. `summary_table` is the table printed when the run ends.
"""

from __future__ import annotations

from dataclasses import dataclass

from mmoc_runtime import AttemptTrace, PipelineObserver, StepTrace, Trace
from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

# Trace status -> what the view calls it, and its colour.
_STATES = {
    "pending": ("waiting", "dim"),
    "running": ("running", "cyan"),
    "retrying": ("retrying", "yellow"),
    "success": ("done", "green"),
    "failed": ("failed", "bold red"),
    "skipped": ("skipped", "magenta"),
    "not_run": ("not run", "dim red"),
}

# What the model column shows for a step that calls no model itself.
_KIND_LABELS = {"group": "(group)", "map": "(map)"}


@dataclass
class _Row:
    name: str
    kind: str
    group: str | None
    state: str = "pending"
    model: str | None = None
    latency_ms: float | None = None
    tokens: int | None = None
    note: str = ""


class LiveView(PipelineObserver):
    """A live step table (terminal) or plain progress lines (anything else), on `console`."""

    def __init__(self, console: Console, *, live: bool | None = None, quiet: bool = False) -> None:
        super().__init__()
        self.console = console
        self.live_mode = console.is_terminal if live is None else live
        self.quiet = quiet
        self.rows: dict[str, _Row] = {}
        self._live: Live | None = None

    # ---- observer callbacks ---------------------------------------------------------

    def on_run_start(self, trace: Trace) -> None:
        self.rows = {
            s.name: _Row(s.name, s.kind, s.group, model=s.model) for s in trace.steps
        }
        if self.quiet:
            return
        if self.live_mode:
            self._live = Live(
                self.table(), console=self.console, refresh_per_second=8, transient=False
            )
            self._live.start()
        else:
            mock = " (mock)" if trace.mock else ""
            self._line(f"run {trace.pipeline}{mock}: {len(trace.steps)} step(s)")

    def on_step_start(self, step_name: str, kind: str, model: str | None) -> None:
        row = self._row(step_name, kind)
        row.state = "running"
        row.model = model or row.model
        if not self.live_mode:
            self._line(f"  start   {step_name}" + (f" ({_model_label(model)})" if model else ""))
        self._refresh()

    def on_attempt(self, step_name: str, attempt: AttemptTrace) -> None:
        number = attempt.number
        if number <= 1:
            return
        row = self._row(step_name, "llm")
        row.state = "retrying"
        wait = attempt.wait_before_ms
        target = attempt.model
        other = f" on {_model_label(target)}" if target and target != row.model else ""
        row.note = f"attempt {number}{other}"
        if not self.live_mode:
            waited = f" after {wait:.0f} ms" if wait else ""
            self._line(f"  retry   {step_name}: {row.note}{waited}")
        self._refresh()

    def on_step_end(self, step_trace: StepTrace) -> None:
        row = self._row(step_trace.name, step_trace.kind)
        row.state = step_trace.status
        row.model = step_trace.model_used or step_trace.model or row.model
        row.latency_ms = step_trace.latency_ms
        tokens = step_trace.input_tokens + step_trace.output_tokens
        row.tokens = tokens if tokens else None
        if step_trace.status in ("skipped", "not_run"):
            row.note = step_trace.skip_reason or ""
        elif step_trace.status == "failed":
            row.note = step_trace.error or ""
        elif step_trace.fallback_used:
            row.note = f"fallback for {step_trace.model}"
        else:
            row.note = ""
        if not self.live_mode:
            label = _STATES.get(row.state, (row.state, ""))[0]
            extra = f" {row.latency_ms:.0f} ms" if row.state == "success" else ""
            if row.tokens:
                extra += f", {row.tokens} tokens"
            note = f" ({row.note})" if row.note else ""
            self._line(f"  {label:<7} {row.name}{extra}{note}")
        self._refresh()

    def on_run_end(self, trace: Trace) -> None:
        if self._live is not None:
            self._live.update(self.table())
            self._live.stop()
            self._live = None
        elif not self.quiet and not self.live_mode:
            self._line(f"run {trace.status} in {trace.latency_ms:.0f} ms")

    def close(self) -> None:
        """Stop the live display if a run died before `on_run_end` (leaves the terminal tidy)."""
        if self._live is not None:
            self._live.stop()
            self._live = None

    # ---- drawing --------------------------------------------------------------------

    def table(self) -> Table:
        table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
        for column in ("step", "state", "model", "latency", "tokens", ""):
            table.add_column(column, justify="right" if column in ("latency", "tokens") else "left")
        for row in self.rows.values():
            label, style = _STATES.get(row.state, (row.state, ""))
            name = f"  {row.name}" if row.group else row.name
            latency = f"{row.latency_ms:.0f} ms" if row.latency_ms is not None else ""
            table.add_row(
                Text(name),
                Text(label, style=style),
                Text(_model_label(row.model) or _KIND_LABELS.get(row.kind, "")),
                latency if row.state not in ("pending", "running") else "",
                str(row.tokens) if row.tokens else "",
                Text(_short(row.note), style="dim"),
            )
        return table

    def _row(self, name: str, kind: str) -> _Row:
        row = self.rows.get(name)
        if row is None:  # a step the trace did not list at the start: show it anyway
            row = self.rows[name] = _Row(name, kind, None)
        return row

    def _refresh(self) -> None:
        if self._live is not None:
            self._live.update(self.table())

    def _line(self, text: str) -> None:
        if not self.quiet:
            self.console.print(Text(text), soft_wrap=True)


def _model_label(model: str | None) -> str:
    """A model id without its `?options` (mock settings): what a reader wants to see."""
    return model.split("?", 1)[0] if model else ""


def _short(text: str, limit: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def summary_table(trace: Trace) -> Table:
    """Steps, models used, attempts, tokens, cost and wall time of a finished run."""
    steps = [s for s in trace.steps if s.kind != "group"]
    counts: dict[str, int] = {}
    for step in steps:
        counts[step.status] = counts.get(step.status, 0) + 1
    order = ("success", "failed", "skipped", "not_run")
    status_text = ", ".join(
        f"{counts[s]} {_STATES[s][0]}" for s in order if counts.get(s)
    )
    models = sorted({_model_label(s.model_used) for s in steps if s.model_used})
    attempts = sum(len(s.attempts) for s in steps)
    retries = sum(s.retries for s in steps)
    cost = f"${trace.total_cost_usd:.6f}" + (" (estimated)" if trace.cost_estimated else "")
    table = Table(title=f"{trace.pipeline}: {trace.status}", show_header=False, box=None)
    table.add_column("what", style="bold")
    table.add_column("value")
    table.add_row("steps", f"{len(steps)} ({status_text})" if status_text else str(len(steps)))
    table.add_row("models", ", ".join(models) or "none")
    table.add_row("attempts", f"{attempts} ({retries} retries)")
    table.add_row(
        "tokens",
        f"{trace.total_tokens} ({trace.total_input_tokens} in, {trace.total_output_tokens} out)",
    )
    table.add_row("cost", cost)
    table.add_row("wall time", f"{trace.latency_ms:.0f} ms")
    if trace.mock:
        table.add_row("provider", "mock (every model answered by the mock provider)")
    return table
