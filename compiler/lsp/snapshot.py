"""One check of one open document: what `mmoc check` reports for its text, and the index the
editor features read.

The check goes through the driver (`load_text`), with the project's `[tool.mmoc]`
configuration found from the file's folder: declared models and providers, selection,
per-file ignores. So the editor shows what `mmoc check FILE` prints, code for code.

While the text does not parse (a syntax error mid-edit), the parser gives one diagnostic and
no pipeline. Rather than drop every other finding until the text parses again, a snapshot
keeps those of the last text that did parse, on the lines the edit left alone (matched line
by line, so they move with the lines above them), and serves hover, navigation and completion
from that text's index, moved the same way. The choice is documented in docs/editor.md.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from .. import ir
from ..checks.models import declared_models
from ..config import Config, ConfigError, load_config
from ..diagnostics.model import Diagnostic, Label
from ..driver import YAML_SUFFIXES, load_text
from ..source import Span
from .index import Index, Occurrence, build_index


@dataclass(frozen=True)
class Snapshot:
    text: str
    suffix: str
    diagnostics: list[Diagnostic]
    pipeline: ir.Pipeline | None  # this text's, else the last good text's
    make_index: Callable[[], Index] = field(repr=False)
    config: Config
    parsed: bool  # False: the text does not parse; the rest is carried over
    config_error: str | None = None
    # For a text that does not parse: the last snapshot that did, whose results are carried
    # (always a parsed one, so a long run of broken edits never chains snapshots).
    base: Snapshot | None = None

    @property
    def is_yaml(self) -> bool:
        return self.suffix in YAML_SUFFIXES

    @cached_property
    def lines(self) -> list[str]:
        """The text's lines (without their `\\n`), split once per snapshot."""
        return self.text.split("\n")

    @cached_property
    def index(self) -> Index:
        """Built on first use: publishing diagnostics, the one thing every keystroke needs,
        does not pay for it."""
        return self.make_index()


def project_config(path: Path) -> tuple[Config, str | None]:
    """The configuration that applies to a file, as `mmoc check` run from its folder finds
    it; the defaults (and the reason) when it is broken."""
    try:
        return load_config(start=path.parent), None
    except ConfigError as exc:
        return Config(), str(exc)


def analyse(
    text: str, path: Path, config: Config, previous: Snapshot | None = None,
    config_error: str | None = None,
) -> Snapshot:
    """Check `text` (the file at `path`, shown by its full path in spans) like `mmoc check`."""
    suffix = path.suffix.lower()
    display = str(path)
    with declared_models(config):
        loaded = load_text(text, display, suffix)
    diagnostics = config.filter(loaded.diagnostics)
    source = loaded.text if loaded.text is not None else text
    pipeline = loaded.pipeline
    if pipeline is not None:
        yaml = suffix in YAML_SUFFIXES
        return Snapshot(source, suffix, diagnostics, pipeline,
                        lambda: build_index(pipeline, source, yaml), config, True, config_error)
    good = previous if previous is None or previous.parsed else previous.base
    if good is None:
        return Snapshot(source, suffix, diagnostics, None, Index, config, False, config_error)
    moved = LineMap(good.text, source)
    kept = [d for d in (moved.diagnostic(d) for d in good.diagnostics) if d is not None]
    return Snapshot(source, suffix, diagnostics + kept, good.pipeline,
                    lambda: moved.index(good.index), config, False, config_error, good)


class LineMap:
    """Where the lines of an old text are in a new one: lines in unchanged runs move with
    the edit, lines inside a change have no place."""

    def __init__(self, old: str, new: str) -> None:
        matcher = difflib.SequenceMatcher(None, old.split("\n"), new.split("\n"),
                                          autojunk=False)
        self.moves: dict[int, int] = {}  # 1-based old line -> new line
        for tag, i1, i2, j1, _ in matcher.get_opcodes():
            if tag == "equal":
                for k in range(i2 - i1):
                    self.moves[i1 + k + 1] = j1 + k + 1

    def span(self, span: Span | None) -> Span | None:
        if span is None:
            return None
        line, end_line = self.moves.get(span.line), self.moves.get(span.end_line)
        if line is None or end_line is None or end_line - line != span.end_line - span.line:
            return None
        if line == span.line:
            return span
        return span.model_copy(update={"line": line, "end_line": end_line})

    def diagnostic(self, d: Diagnostic) -> Diagnostic | None:
        span = self.span(d.span)
        if span is None or d.code == "MMO002":  # an old syntax error is not carried over
            return None
        labels = tuple(Label(s, lab.message) for lab in d.labels
                       if (s := self.span(lab.span)) is not None)
        return replace(d, span=span, labels=labels)

    def index(self, old: Index) -> Index:
        moved = Index()
        for occ in old.occurrences:
            span = self.span(occ.span)
            if span is not None:
                moved.occurrences.append(Occurrence(occ.kind, occ.name, span, occ.definition))
        for key, site in old.implicit_keys.items():
            span = self.span(site)
            if span is not None:
                moved.implicit_keys[key] = span
        return moved
