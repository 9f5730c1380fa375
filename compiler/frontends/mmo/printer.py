"""The IR printed as canonical `.mmo` text (what `mmoc fmt` and `mmoc convert` write).

One layout for every pipeline: sections in a fixed order with a blank line between them,
two-space indentation, step fields in a fixed order, only the policy arguments that differ
from their defaults. Comments are printed on their own lines before the node that carries
them. `parse_mmo(print_mmo(p))` dumps to the same dict as `p`, and printing is idempotent.
"""

from __future__ import annotations

import math
import re
from typing import Any

from ... import ir
from ...expr_text import escape_char, number, print_expr, quote, value
from .literals import common_indent

__all__ = ["print_mmo"]

INDENT = "  "
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # grammar/mmo.lark's NAME: what may stand bare
RETRY_DEFAULTS = ir.RetryPolicy()
BREAKER_DEFAULTS = ir.BreakerPolicy()


# ---- literals ---------------------------------------------------------------------------






def _triple_safe(value: str) -> bool:
    """A multi-line value reads back from `\"\"\"` only if indentation stripping keeps it.

    With no line that is more than spaces and tabs, the reader finds no indentation to
    strip, so the printed indentation would stay in the value: such text is quoted."""
    lines = value.split("\n")
    has_text = any(line.strip(" \t") for line in lines)
    return "\n" in value and has_text and common_indent(lines) == ""


def text(value: str, indent: str) -> str:
    """A prompt-like text: triple-quoted when it has several lines, else one line."""
    if not _triple_safe(value):
        return quote(value)
    escape_quotes = '"""' in value
    inner = indent + INDENT
    lines = []
    for line in value.split("\n"):
        body = "".join("\t" if ch == "\t" else escape_char(ch, escape_quotes) for ch in line)
        lines.append(inner + body if body else "")
    return '"""\n' + "\n".join(lines) + "\n" + indent + '"""'




def duration(seconds: Any) -> str:
    """Seconds as the shortest unit that reads back exactly: 1h, 1m, 30s, 500ms, 0.25s."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        return str(seconds)
    value = float(seconds)
    if not math.isfinite(value):
        return str(seconds)
    if value.is_integer() and value != 0:
        whole = int(value)
        for unit, size in (("h", 3600), ("m", 60)):
            if whole % size == 0:
                return f"{whole // size}{unit}"
        return f"{whole}s"
    millis = round(value * 1000)
    if millis / 1000 == value:
        return f"{millis}ms"
    return f"{number(value)}s"










# ---- policies ---------------------------------------------------------------------------


def _changed(node: Any, defaults: Any, field: str) -> bool:
    # 3 and 3.0 dump equal, so only a different value counts as given.
    return bool(getattr(node, field) != getattr(defaults, field))


def retry_call(p: ir.RetryPolicy) -> str:
    # The core numbers always show; the rest only when they differ from the defaults.
    word = "delay" if p.backoff == "constant" else "base"
    args = [f"max_retries: {number(p.max_retries)}", f"{word}: {duration(p.base_delay)}"]
    if p.backoff != "constant" or _changed(p, RETRY_DEFAULTS, "max_delay"):
        args.append(f"max: {duration(p.max_delay)}")
    if _changed(p, RETRY_DEFAULTS, "multiplier"):
        args.append(f"multiplier: {number(p.multiplier)}")
    if _changed(p, RETRY_DEFAULTS, "jitter"):
        args.append(f"jitter: {p.jitter}")
    if p.retry_on:
        args.append(f"on: [{', '.join(i.name for i in p.retry_on)}]")
    return f"{p.backoff}({', '.join(args)})"


def breaker_args(p: ir.BreakerPolicy) -> str:
    args = [
        f"failures: {number(p.failure_threshold)}",
        f"recovery: {duration(p.recovery_timeout)}",
    ]
    if _changed(p, BREAKER_DEFAULTS, "half_open_max_calls"):
        args.append(f"trials: {number(p.half_open_max_calls)}")
    return f"({', '.join(args)})"


def retry_setting(s: ir.RetryPolicy | ir.PolicyRef) -> str:
    return s.name if isinstance(s, ir.PolicyRef) else retry_call(s)


def breaker_setting(s: ir.BreakerPolicy | ir.PolicyRef) -> str:
    return f" {s.name}" if isinstance(s, ir.PolicyRef) else breaker_args(s)


# ---- statements -------------------------------------------------------------------------


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def comments(self, indent: str, *nodes: Any) -> None:
        for node in nodes:
            for c in getattr(node, "comments", ()) if node is not None else ():
                self.lines.append(f"{indent}# {c}" if c else f"{indent}#")

    def line(self, indent: str, content: str, *nodes: Any) -> None:
        self.comments(indent, *nodes)
        self.lines.append(indent + content)

    def blank(self) -> None:
        if self.lines and self.lines[-1] != "" and not self.lines[-1].endswith("{"):
            self.lines.append("")


def _control_fields(w: _Writer, s: ir.StepBase, indent: str) -> None:
    if s.after:
        w.line(indent, "after " + ", ".join(i.name for i in s.after), *s.after)
    if s.when is not None:
        w.line(indent, "when " + print_expr(s.when), s.when)


def _llm_fields(w: _Writer, s: ir.LlmStep, indent: str) -> None:
    w.line(indent, "prompt " + text(s.prompt.value, indent), s.prompt)
    if s.system is not None:
        w.line(indent, "system " + text(s.system.value, indent), s.system)
    if s.temperature is not None:
        w.line(indent, f"temperature {number(s.temperature)}")
    if s.max_tokens is not None:
        w.line(indent, f"max_tokens {number(s.max_tokens)}")
    if s.stop:
        w.line(indent, "stop [" + ", ".join(quote(x) for x in s.stop) + "]")
    if s.output is not None:
        schema = f" schema {value(s.output.schema_)}" if s.output.schema_ is not None else ""
        w.line(indent, "json" + schema, s.output)
    _control_fields(w, s, indent)
    if s.retry is not None:
        w.line(indent, "retry " + retry_setting(s.retry), s.retry)
    if s.fallback is not None:
        w.line(indent, "fallback [" + ", ".join(m.id for m in s.fallback) + "]", *s.fallback)
    if s.breaker is not None:
        w.line(indent, "breaker" + breaker_setting(s.breaker), s.breaker)
    if s.cache is not None:
        w.line(indent, cache_setting(s.cache))


def cache_setting(c: ir.CachePolicy) -> str:
    """`cache ttl: 1h`, `cache on` or `cache off`."""
    if not c.enabled:
        return "cache off"
    return "cache on" if c.ttl is None else f"cache ttl: {duration(c.ttl)}"


def _step(w: _Writer, s: ir.LlmStep | ir.TransformStep, indent: str) -> None:
    inner = indent + INDENT
    w.comments(indent, s)
    if isinstance(s, ir.LlmStep):
        w.line(indent, f"step {s.name} = llm {s.model.id} {{", s.model)
        _llm_fields(w, s, inner)
    else:
        names = (["*"] if s.pass_context else []) + [r.name for r in s.reads]
        reads = ", ".join(names)
        if names and names[0] == "reads":
            reads = "reads " + reads  # the keyword would swallow a key named `reads`
        head = f"step {s.name} = transform {s.function}({reads})"
        w.comments(indent, *s.reads)
        if not (s.after or s.when is not None or s.timeout is not None):
            w.line(indent, f"{head} -> {s.output_key}")
            return
        w.line(indent, head + " {")
        _control_fields(w, s, inner)
    if s.timeout is not None:
        w.line(inner, f"timeout {duration(s.timeout)}")
    w.line(indent, f"}} -> {s.output_key}")


def _group(w: _Writer, g: ir.GroupStep, indent: str) -> None:
    inner = indent + INDENT
    args = f" (concurrency: {number(g.concurrency)})" if g.concurrency is not None else ""
    w.line(indent, f"parallel {g.name}{args} {{", g)
    _control_fields(w, g, inner)
    if g.timeout is not None:
        w.line(inner, f"timeout {duration(g.timeout)}")
    for member in g.steps:
        w.blank()
        _step(w, member, inner)
    # The default key (`<name>_output`) goes unsaid, so `fmt` leaves a keyless group as it is.
    default = g.output_key in (None, f"{g.name}_output")
    w.line(indent, "}" + ("" if default else f" -> {g.output_key}"))


def _map(w: _Writer, m: ir.MapStep, indent: str) -> None:
    inner = indent + INDENT
    options = []
    if m.concurrency is not None:
        options.append(f"concurrency: {number(m.concurrency)}")
    if m.on_error != "fail":
        # Bare only as the grammar reads a name (ASCII, not a literal); else a string.
        bare = (isinstance(m.on_error, str) and NAME.fullmatch(m.on_error) is not None
                and m.on_error not in ("true", "false", "null"))
        options.append(f"on_error: {m.on_error if bare else quote(str(m.on_error))}")
    if m.limit is not None:
        options.append(f"limit: {number(m.limit)}")
    args = f" ({', '.join(options)})" if options else ""
    w.comments(indent, m)
    w.line(indent, f"step {m.name} = map {m.item} in {m.for_each.name}{args} {{", m.for_each)
    _control_fields(w, m, inner)
    if m.timeout is not None:
        w.line(inner, f"timeout {duration(m.timeout)}")
    if m.collect is not None:
        w.line(inner, f"collect {m.collect.name}", m.collect)
    for member in m.steps:
        w.blank()
        _step(w, member, inner)
    w.line(indent, f"}} -> {m.output_key}")


def _header(w: _Writer, p: ir.Pipeline) -> None:
    i = INDENT
    if p.version is not None:
        w.line(i, f"version {quote(p.version)}")
    if p.description is not None:
        w.line(i, f"description {text(p.description, i)}")
    if p.metadata:
        w.line(i, f"metadata {value(p.metadata)}")
    w.blank()
    for inp in p.inputs:
        kind = f": {inp.type}" if inp.type is not None else ""
        default = f" = {value(inp.default)}" if inp.has_default else ""
        w.line(i, f"input {inp.name}{kind}{default}", inp)
    if p.outputs:
        w.line(i, "output " + ", ".join(o.name for o in p.outputs), *p.outputs)
    w.blank()
    for alias in p.models:
        w.line(i, f"model {alias.name} = {alias.model.id}", alias, alias.model)
    for e in p.providers:
        args = [f"base_url: {quote(e.base_url)}"]
        if e.api_key_env is not None:
            args.append(f"api_key_env: {quote(e.api_key_env)}")
        kind = e.kind.replace("-", "_")
        w.line(i, f"provider {e.name} = {kind}({', '.join(args)})", e)
    w.blank()
    for r in p.retry_policies:
        w.line(i, f"retry {r.name} = {retry_call(r)}", r)
    for b in p.breaker_policies:
        w.line(i, f"breaker {b.name} = breaker{breaker_args(b)}", b)
    w.blank()
    d = p.defaults
    w.comments(i, d)
    if d.retry is not None:
        w.line(i, "default retry " + retry_setting(d.retry), d.retry)
    if d.breaker is not None:
        w.line(i, "default breaker" + breaker_setting(d.breaker), d.breaker)
    if d.timeout is not None:
        w.line(i, f"default timeout {duration(d.timeout)}")
    if d.cache is not None:
        w.line(i, "default " + cache_setting(d.cache))

    _limits(w, p)


def _limits(w: _Writer, p: ir.Pipeline) -> None:
    """`limit` and `budget` statements, after the defaults."""
    if p.limits or p.budget is not None:
        w.blank()
    for lim in p.limits:
        w.line(INDENT, f"limit {lim.target} {limit_args(lim)}", lim)
    if p.budget is not None:
        w.line(INDENT, f"budget {money(p.budget)}")


def limit_args(lim: ir.RateLimit) -> str:
    values = ((name, getattr(lim, name)) for name in ("rpm", "tpm", "concurrency", "burst"))
    return "(" + ", ".join(f"{name}: {number(v)}" for name, v in values if v is not None) + ")"


def money(amount: Any) -> str:
    """`$0.50` (cents when the amount is whole cents, else every digit: `$0.125`); a negative
    amount as `-$0.50`. The lexer reads each back to the same number."""
    text = number(amount)
    if isinstance(amount, int | float) and not isinstance(amount, bool) and math.isfinite(
            amount) and round(amount, 2) == amount and abs(amount) < 1e15:
        text = f"{amount:.2f}"
    return f"-${text[1:]}" if text.startswith("-") else f"${text}"


# ---- tests ------------------------------------------------------------------------------


def _pattern(pattern: str) -> str:
    # A raw string keeps a regex readable (`r"^\\d+"`), when it can hold the pattern.
    raw = '"' not in pattern and "\n" not in pattern and "\r" not in pattern
    return f'r"{pattern}"' if raw else quote(pattern)


def expectation_text(e: ir.Expectation) -> str:
    """An expectation as written after `expect` (also the YAML `expect:` strings)."""
    if isinstance(e, ir.ExpectValue):
        return f"{e.key.name} {e.op} {value(e.value)}"
    if isinstance(e, ir.ExpectLength):
        return f"len({e.key.name}) {e.op} {number(e.value)}"
    if isinstance(e, ir.ExpectMatch):
        return f"{e.key.name} matches {_pattern(e.pattern)}"
    if isinstance(e, ir.ExpectSchema):
        return f"{e.key.name} valid schema {value(e.schema_)}"
    if isinstance(e, ir.ExpectStep):
        return f"step {e.step.name} {e.status}"
    if isinstance(e, ir.ExpectCost):
        return f"cost {e.op} ${number(e.usd)}"
    if isinstance(e, ir.ExpectLatency):
        return f"latency {e.op} {duration(e.seconds)}"
    return f"{e.key.name} judged by {e.model.id} {quote(e.criteria)}"


def _test(w: _Writer, t: ir.Test, indent: str) -> None:
    inner = indent + INDENT
    w.line(indent, f"test {t.name} {{", t)
    for item in t.inputs:
        w.line(inner, f"input {item.name.name} = {value(item.value)}", item)
    for item in t.replies:
        w.line(inner, f"reply {item.name.name} = {value(item.value)}", item)
    for e in t.expectations:
        w.line(inner, "expect " + expectation_text(e), e)
    w.line(indent, "}")


def print_mmo(p: ir.Pipeline) -> str:
    """The pipeline as canonical `.mmo` text, ending in one newline."""
    w = _Writer()
    w.line("", f"pipeline {p.name} {{", p)
    _header(w, p)
    for step in p.steps:
        w.blank()
        if isinstance(step, ir.GroupStep):
            _group(w, step, INDENT)
        elif isinstance(step, ir.MapStep):
            _map(w, step, INDENT)
        else:
            _step(w, step, INDENT)
    for test in p.tests:
        w.blank()
        _test(w, test, INDENT)
    if w.lines[-1] == "":
        w.lines.pop()
    w.lines.append("}")
    w.comments("", ir.Node(comments=p.trailing_comments))
    return "\n".join(w.lines) + "\n"
