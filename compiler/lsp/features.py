"""What the language server answers, from a `Snapshot`: LSP diagnostics, hover, definition,
references, rename, completion, document symbols, formatting and quick fixes.

Positions here are mmoc's: 1-based lines and columns counted in characters. `server.py`
converts to and from the client's units.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from mmoc_runtime.catalog import CATALOG
from mmoc_runtime.pricing import price_for

from .. import ir
from ..analysis import AnyStep, needs_of, produced_keys, resolve_model
from ..diagnostics.codes import CODES
from ..diagnostics.examples import EXAMPLES
from ..diagnostics.model import Diagnostic
from ..driver import MMO_SUFFIXES, load_text
from ..frontends.mmo.printer import NAME, breaker_args, duration, retry_call
from ..frontends.mmo.transformer import LLM_FIELDS
from ..source import Span
from .index import Kind, Occurrence
from .snapshot import Snapshot

CODE_RE = re.compile(r"MMO\d{3}")
SUGGESTION_RE = re.compile(r"did you mean `([^`]+)`\?")
STATEMENT_KEYWORDS = (
    "pipeline", "version", "description", "metadata", "input", "output", "model", "provider",
    "retry", "breaker", "default", "step", "parallel", "llm", "transform",
)  # fmt: skip
VALUE_KEYWORDS = ("exponential", "constant", "true", "false", "null", "and", "or", "not",
                  "contains", "reads")


@dataclass(frozen=True)
class Edit:
    span: Span
    new_text: str


# ---- diagnostics -------------------------------------------------------------------------


def suggested_fix(d: Diagnostic, lines: Sequence[str]) -> str | None:
    """The text a diagnostic's "did you mean" would put in place of its span, or None.

    A suggestion replaces the part of the span it corrects: `did you mean `openai`?` on the
    model `opnai/gpt-4o` replaces `opnai` only."""
    if d.help is None or d.span is None or d.span.line != d.span.end_line:
        return None
    found = SUGGESTION_RE.search(d.help)
    if found is None:
        return None
    suggestion = found.group(1)
    written = _span_text(lines, d.span)
    if not written or "/" in suggestion:
        return suggestion
    parts = re.split(r"([/?])", written)
    words = [i for i in range(0, len(parts), 2) if parts[i]]
    if len(words) <= 1:
        return suggestion
    best = max(words, key=lambda i: SequenceMatcher(None, parts[i], suggestion).ratio())
    parts[best] = suggestion
    return "".join(parts)


def _span_text(lines: Sequence[str], span: Span) -> str:
    if not 0 < span.line <= len(lines):
        return ""
    return lines[span.line - 1][span.column - 1:span.end_column - 1]


# ---- hover -------------------------------------------------------------------------------


def hover(snap: Snapshot, line: int, column: int) -> str | None:
    occ = snap.index.at(line, column)
    p = snap.pipeline
    if occ is not None and p is not None:
        text = {"step": _hover_step, "key": _hover_key, "retry": _hover_policy,
                "breaker": _hover_policy}[occ.kind](snap, p, occ)
        if text:
            return text
    code = _code_at(snap.lines, line, column)
    if code is not None:
        return explain_markdown(code)
    under = [d for d in snap.diagnostics if d.span is not None and _within(d.span, line, column)]
    codes = list(dict.fromkeys(d.code for d in under))
    return "\n\n---\n\n".join(explain_markdown(c) for c in codes) if codes else None


def _within(span: Span, line: int, column: int) -> bool:
    return (span.line, span.column) <= (line, column) <= (span.end_line, span.end_column)


def _code_at(lines: Sequence[str], line: int, column: int) -> str | None:
    if not 0 < line <= len(lines):
        return None
    for found in CODE_RE.finditer(lines[line - 1]):
        if found.start() < column <= found.end() + 1 and found.group() in CODES:
            return found.group()
    return None


def explain_markdown(code: str) -> str:
    """`mmoc explain CODE` as Markdown: the code's slug, summary, explanation and example."""
    c = CODES[code]
    out = [f"**{c.code}** `{c.slug}` ({c.severity}): {c.summary}", "", c.explanation]
    example = EXAMPLES.get(code)
    if example is not None:
        out += ["", "Example:", "", f"```{example.language}", example.source.rstrip(), "```"]
        if example.fix:
            out += ["", "Fix: " + example.fix]
    return "\n".join(out)


def _steps_by_name(p: ir.Pipeline) -> dict[str, AnyStep]:
    out: dict[str, AnyStep] = {}
    for step in p.all_steps():
        out.setdefault(step.name, step)
    return out


def _hover_step(snap: Snapshot, p: ir.Pipeline, occ: Occurrence) -> str | None:
    step = _steps_by_name(p).get(occ.name)
    if step is None:
        return None
    lines = [f"**step `{step.name}`** ({step.kind})"]
    if isinstance(step, ir.LlmStep):
        lines.append("")
        lines.append(model_line(snap, p, step.model.id))
        for ref in step.fallback or ():
            lines.append("fallback " + model_line(snap, p, ref.id))
    elif isinstance(step, ir.TransformStep):
        lines += ["", f"function: `{step.function}`"]
    elif isinstance(step, ir.GroupStep):
        lines += ["", "members: " + _names(m.name for m in step.steps)]
    reads = needs_of(step)
    lines += ["", "reads: " + (_names(reads) if reads else "nothing")]
    lines.append("produces: " + (f"`{step.output_key}`" if step.output_key else "nothing"))
    return "  \n".join(lines)


def model_line(snap: Snapshot, p: ir.Pipeline, model_id: str) -> str:
    """`model: openai/gpt-4o-mini` with its provider and price per million tokens (the
    configuration's price for a model it declares, else the runtime's table)."""
    resolved = resolve_model(p, model_id)
    base = resolved.partition("?")[0]
    provider, slash, name = base.partition("/")
    if not slash:
        provider, name = CATALOG.get(base, "?"), base
    shown = f"`{model_id}`" + (f" = `{resolved}`" if resolved != model_id else "")
    declared = snap.config.prices().get(f"{provider}/{name}")
    if declared is not None:
        price = (f"${declared.input_per_mtok:g} in, ${declared.output_per_mtok:g} out per "
                 "million tokens (config)")
    else:
        table, estimated = price_for(f"{provider}/{name}" if provider != "?" else name)
        price = (f"${table.input_per_mtok:g} in, ${table.output_per_mtok:g} out per million "
                 "tokens" + (" (estimate: not in the price table)" if estimated else ""))
    return f"model: {shown}, provider `{provider}`, {price}"


def _names(names: Iterable[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)


def _hover_key(snap: Snapshot, p: ir.Pipeline, occ: Occurrence) -> str:
    producer = produced_keys(p).get(occ.name)
    inputs = {i.name for i in p.inputs}
    if producer is not None:
        source = f"produced by step `{producer.name}`"
    elif occ.name in inputs or not p.inputs_declared:
        source = "a pipeline input"
    else:
        source = "produced by nothing"
    readers = [s.name for s in p.all_steps() if occ.name in needs_of(s)
               and not isinstance(s, ir.GroupStep)]
    output = " It is a pipeline output." if any(o.name == occ.name for o in p.outputs) else ""
    return (f"**key `{occ.name}`**: {source}  \nread by: "
            + (_names(readers) if readers else "no step") + output)


def _hover_policy(snap: Snapshot, p: ir.Pipeline, occ: Occurrence) -> str | None:
    if occ.kind == "retry":
        retry = next((r for r in p.retry_policies if r.name == occ.name), None)
        if retry is None:
            return None
        settings = retry_call(retry)
        details = (f"max_retries {retry.max_retries}, backoff {retry.backoff}, base "
                   f"{duration(retry.base_delay)}, max {duration(retry.max_delay)}, "
                   f"multiplier {retry.multiplier}, jitter {retry.jitter}")
        return f"**retry policy `{occ.name}`** = `{settings}`  \n{details}" + _users(p, occ)
    breaker = next((b for b in p.breaker_policies if b.name == occ.name), None)
    if breaker is None:
        return None
    details = (f"opens after {breaker.failure_threshold} failures, tries again after "
               f"{duration(breaker.recovery_timeout)}, {breaker.half_open_max_calls} trial "
               "call(s)")
    return (f"**breaker `{occ.name}`** = `breaker{breaker_args(breaker)}`  \n{details}"
            + _users(p, occ))


def _users(p: ir.Pipeline, occ: Occurrence) -> str:
    attr = "retry" if occ.kind == "retry" else "breaker"
    users = [s.name for s in p.all_steps() if isinstance(s, ir.LlmStep)
             and isinstance(getattr(s, attr), ir.PolicyRef) and getattr(s, attr).name == occ.name]
    default = getattr(p.defaults, attr)
    lines = []
    if isinstance(default, ir.PolicyRef) and default.name == occ.name:
        lines.append("the pipeline default")
    if users:
        lines.append("used by " + _names(users))
    return ("  \n" + "; ".join(lines)) if lines else ""


# ---- navigation --------------------------------------------------------------------------


def definition(snap: Snapshot, line: int, column: int) -> list[Span]:
    occ = snap.index.at(line, column)
    return [] if occ is None else snap.index.definitions(occ.kind, occ.name)


def references(snap: Snapshot, line: int, column: int, include_declaration: bool) -> list[Span]:
    occ = snap.index.at(line, column)
    if occ is None:
        return []
    return [o.span for o in snap.index.of(occ.kind, occ.name)
            if include_declaration or not o.definition]



def rename_target(snap: Snapshot, line: int, column: int) -> Occurrence | None:
    """The name a rename at this place would change: a step, key or policy of a text that
    parses (renaming from a stale index could edit the wrong text)."""
    occ = snap.index.at(line, column)
    if occ is None or not snap.parsed:
        return None
    return occ


def rename(snap: Snapshot, line: int, column: int, new_name: str) -> list[Edit] | str:
    """The edits renaming what is under the cursor everywhere in the file, or why not.

    A step whose output key is implicit (`<step>_output`) takes its key along: the places
    that read `<old>_output` then read `<new>_output`, so the pipeline means the same."""
    occ = rename_target(snap, line, column)
    if occ is None:
        return "nothing to rename here"
    if not NAME.fullmatch(new_name):
        return f"`{new_name}` is not a name (letters, digits and `_`, not first a digit)"
    edits = [Edit(o.span, new_name) for o in snap.index.of(occ.kind, occ.name)]
    implicit = f"{occ.name}_output"
    if occ.kind == "step" and implicit in snap.index.implicit_keys:
        edits += [Edit(o.span, f"{new_name}_output") for o in snap.index.of("key", implicit)]
    return edits


# ---- completion --------------------------------------------------------------------------


@dataclass(frozen=True)
class Completion:
    label: str
    kind: str  # "key", "model", "policy", "keyword"
    detail: str = ""


_PLACEHOLDER_BEFORE = re.compile(r"\{([A-Za-z_0-9]*)$")
_MODEL_BEFORE = re.compile(
    r"(=\s*llm\s+|fallback\s*\[[^\]]*|^\s*model\s+\w+\s*=\s*|^\s*-?\s*model:\s*|fallback:\s*"
    r"\[?[^\]]*)[\w./:@-]*$"
)
_POLICY_BEFORE = re.compile(r"\b(retry|breaker)(\s+|:\s*)\w*$")


def completions(snap: Snapshot, line: int, column: int) -> list[Completion]:
    lines = snap.lines
    if not 0 < line <= len(lines):
        return []
    before = lines[line - 1][:column - 1]
    if _PLACEHOLDER_BEFORE.search(before):
        return [Completion(k, "key", detail) for k, detail in _keys(snap)]
    policy = _POLICY_BEFORE.search(before)
    if policy is not None and not before.rstrip().endswith("="):
        kind: Kind = "retry" if policy.group(1) == "retry" else "breaker"
        names = snap.index.names(kind)
        if names or not snap.is_yaml:
            return [Completion(n, "policy", f"{kind} policy") for n in names]
    if _MODEL_BEFORE.search(before):
        return [Completion(m, "model", detail) for m, detail in model_ids(snap)]
    if snap.is_yaml:
        return []
    return [Completion(k, "keyword") for k in (*STATEMENT_KEYWORDS, *sorted(LLM_FIELDS),
                                               *VALUE_KEYWORDS)]


def _keys(snap: Snapshot) -> list[tuple[str, str]]:
    p = snap.pipeline
    if p is None:
        return []
    found = [(i.name, "input") for i in p.inputs]
    found += [(k, f"output of step `{s.name}`") for k, s in produced_keys(p).items()]
    return list(dict.fromkeys(found))


def model_ids(snap: Snapshot) -> list[tuple[str, str]]:
    """Catalog models as `provider/name`, the configuration's models, and the pipeline's
    aliases."""
    found = [(f"{provider}/{name}", "catalog") for name, provider in CATALOG.items()]
    found += [(model, "declared in the configuration") for model in snap.config.models]
    if snap.pipeline is not None:
        found += [(a.name, f"alias of {a.model.id}") for a in snap.pipeline.models]
    return found


# ---- outline and formatting --------------------------------------------------------------


@dataclass(frozen=True)
class Symbol:
    name: str
    kind: str  # "pipeline", "step", "group", "input", "retry", "breaker"
    span: Span  # the whole node
    name_span: Span
    detail: str = ""
    children: tuple[Symbol, ...] = ()


def symbols(snap: Snapshot) -> list[Symbol]:
    p = snap.pipeline
    if p is None or p.span is None or not snap.parsed:
        return []
    children: list[Symbol] = []
    for inp in p.inputs:
        children.extend(_symbol(snap, inp.name, "input", inp.span))
    for retry in p.retry_policies:
        children.extend(_symbol(snap, retry.name or "", "retry", retry.span))
    for breaker in p.breaker_policies:
        children.extend(_symbol(snap, breaker.name or "", "breaker", breaker.span))
    for step in p.steps:
        children.extend(_step_symbol(snap, step))
    children.sort(key=lambda s: (s.span.line, s.span.column))
    return [Symbol(p.name, "pipeline", p.span, p.span, "pipeline", tuple(children))]


def _symbol(snap: Snapshot, name: str, kind: str, span: Span | None, detail: str = "",
            children: tuple[Symbol, ...] = ()) -> list[Symbol]:
    if span is None:
        return []
    sites = [o.span for o in snap.index.occurrences if o.name == name and o.definition
             and span.line <= o.span.line <= span.end_line] or [span]
    return [Symbol(name, kind, span, sites[0], detail, children)]


def _step_symbol(snap: Snapshot, step: AnyStep) -> list[Symbol]:
    if isinstance(step, ir.GroupStep):
        members = tuple(s for m in step.steps for s in _step_symbol(snap, m))
        return _symbol(snap, step.name, "group", step.span, "parallel", members)
    if isinstance(step, ir.MapStep):
        body = tuple(s for m in step.steps for s in _step_symbol(snap, m))
        return _symbol(snap, step.name, "group", step.span, f"map over {step.for_each.name}",
                       body)
    detail = step.model.id if isinstance(step, ir.LlmStep) else step.function
    return _symbol(snap, step.name, "step", step.span, detail)


def formatted(snap: Snapshot) -> str | None:
    """The document as `mmoc fmt` writes it, or None: fmt formats .mmo files that parse
    (check errors do not stop it; front-end errors do, as in `mmoc fmt`)."""
    if snap.suffix not in MMO_SUFFIXES or not snap.parsed:
        return None
    loaded = load_text(snap.text, "fmt.mmo", ".mmo", checks=False)
    if not loaded.ok or loaded.pipeline is None:
        return None
    from ..frontends.mmo.printer import print_mmo

    return print_mmo(loaded.pipeline)


def whole_text_span(text: str) -> Span:
    lines: Sequence[str] = text.split("\n")
    return Span(file="", line=1, column=1, end_line=len(lines),
                end_column=len(lines[-1]) + 1)
