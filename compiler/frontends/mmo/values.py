"""Argument lists and JSON-like values of the .mmo language, read into IR policy nodes.

`exponential(max_retries: 3, base: 1s)`, `breaker(failures: 5)`, `openai_compatible(...)`
and `(concurrency: 2)` share one `args` syntax; this module knows which names each takes
and what kind of value each name wants, and reports the rest as diagnostics.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any

from lark import Token

from ... import ir
from ...source import Span
from .literals import parse_duration


@dataclass(frozen=True)
class Val:
    """A value as written: its kind decides where it may be used."""

    kind: str  # string, number, duration, bare, bool, null, list, object
    value: Any  # list[Val] for a list, dict[str, Val] for an object, the token for a duration
    span: Span


Report = Callable[..., None]  # (code, message, span, **kw)

KIND_WORDS = {
    "string": "a string",
    "number": "a number",
    "duration": "a duration such as 2s",
    "bare": "a name",
    "bool": "true or false",
    "null": "null",
    "list": "a list",
    "object": "an object",
}

# Argument name -> (IR field, accepted value kinds). `delay` is `base` for constant backoff.
RETRY_ARGS: dict[str, tuple[str, tuple[str, ...]]] = {
    "max_retries": ("max_retries", ("number",)),
    "base": ("base_delay", ("duration",)),
    "delay": ("base_delay", ("duration",)),
    "max": ("max_delay", ("duration",)),
    "multiplier": ("multiplier", ("number",)),
    "jitter": ("jitter", ("bare",)),
    "on": ("retry_on", ("list",)),
}
BREAKER_ARGS: dict[str, tuple[str, tuple[str, ...]]] = {
    "failures": ("failure_threshold", ("number",)),
    "recovery": ("recovery_timeout", ("duration",)),
    "trials": ("half_open_max_calls", ("number",)),
}
ENDPOINT_ARGS: dict[str, tuple[str, tuple[str, ...]]] = {
    "base_url": ("base_url", ("string",)),
    "api_key_env": ("api_key_env", ("string",)),
}
LIMIT_ARGS: dict[str, tuple[str, tuple[str, ...]]] = {
    name: (name, ("number",)) for name in ("rpm", "tpm", "concurrency", "burst")
}


class ValueReader:
    def __init__(self, report: Report) -> None:
        self.report = report

    def to_json(self, val: Val, where: str) -> tuple[bool, Any]:
        """A literal value (string, number, bool, null, list, object) as plain Python, and
        whether all of it was valid (each problem is reported once, where it was found)."""
        bad: list[Val] = []
        value = self._json(val, where, bad)
        return not bad, value

    def _json(self, val: Val, where: str, bad: list[Val]) -> Any:
        if val.kind == "number" and val.value is None:
            bad.append(val)  # too large: reported when it was read
        elif val.kind in ("string", "number", "bool", "null"):
            return val.value
        elif val.kind == "list":
            return [self._json(v, where, bad) for v in val.value]
        elif val.kind == "object":
            return {k: self._json(v, where, bad) for k, v in val.value.items()}
        else:
            bad.append(val)
            self.report(
                "MMO006",
                f"`{val.value}` is not a literal value for {where}",
                val.span,
                help='quote text as a string: "..."',
            )
        return None

    def convert(self, val: Val) -> Any:
        """A checked argument value to what the IR stores (durations in seconds)."""
        if val.kind == "duration":
            seconds, problem = parse_duration(str(val.value))
            if problem:
                self.report(*problem, val.span)
            return seconds
        if val.kind == "list":
            out: list[ir.Ident] = []
            for item in val.value:
                if item.kind != "bare":
                    self.report(
                        "MMO006", f"expected a name here, not {KIND_WORDS[item.kind]}", item.span
                    )
                    continue
                out.append(ir.Ident(name=item.value, span=item.span))
            return tuple(out)
        return val.value

    def named_args(
        self,
        args: list[tuple[Token, Val]],
        table: dict[str, tuple[str, tuple[str, ...]]],
        what: str,
        spans: dict[str, Span] | None = None,
    ) -> dict[str, Any]:
        """Check each `name: value` against `table`; return IR field -> converted value.
        `spans`, when given, receives IR field -> where its value was written."""
        out: dict[str, Any] = {}
        seen: dict[str, Span] = {}
        for tok, val in args:
            name = str(tok)
            span = self._token_span(tok, val.span.file)
            entry = table.get(name)
            if entry is None:
                close = get_close_matches(name, list(table), n=1)
                hint = f"did you mean `{close[0]}`?" if close else f"known: {', '.join(table)}"
                self.report("MMO004", f"`{name}` is not an argument of {what}", span, help=hint)
                continue
            target, kinds = entry
            if target in seen:
                self.report("MMO107", f"`{name}` is given twice in {what}", span)
                continue
            seen[target] = span
            if val.kind not in kinds:
                wanted = KIND_WORDS[kinds[0]]
                if kinds == ("duration",) and val.kind == "number":
                    self.report(
                        "MMO008",
                        f"`{name}: {val.value}` has no unit",
                        val.span,
                        help=f"write `{val.value}s` for seconds (or ms, m, h)",
                    )
                else:
                    self.report(
                        "MMO006",
                        f"`{name}` takes {wanted}, not " f"{KIND_WORDS[val.kind]}",
                        val.span,
                    )
                continue
            value = self.convert(val)
            if value is None and val.kind in ("number", "duration"):
                continue  # too large or a bad unit, reported already: the default stands
            out[target] = value
            if spans is not None:
                spans[target] = val.span
        return out

    @staticmethod
    def _token_span(tok: Token, file: str) -> Span:
        return Span(
            file=file,
            line=tok.line or 1,
            column=tok.column or 1,
            end_line=tok.end_line or 1,
            end_column=tok.end_column or 1,
        )

    def retry_policy(
        self, name: str | None, backoff: Token, args: list[tuple[Token, Val]], span: Span
    ) -> ir.RetryPolicy:
        spans: dict[str, Span] = {}
        values = self.named_args(args, RETRY_ARGS, f"`{backoff}` retry", spans)
        spans.setdefault("backoff", self._token_span(backoff, span.file))
        return ir.RetryPolicy(name=name, backoff=str(backoff), span=span,
                              field_spans=tuple(spans.items()), **values)

    def breaker_policy(
        self, name: str | None, args: list[tuple[Token, Val]], span: Span
    ) -> ir.BreakerPolicy:
        spans: dict[str, Span] = {}
        values = self.named_args(args, BREAKER_ARGS, "a breaker", spans)
        return ir.BreakerPolicy(name=name, span=span, field_spans=tuple(spans.items()), **values)

    def rate_limit(self, target: ir.ModelRef, args: list[tuple[Token, Val]],
                   span: Span) -> ir.RateLimit:
        values = self.named_args(args, LIMIT_ARGS, f"limit `{target.id}`")
        return ir.RateLimit(target=target.id, span=span, **values)

    def endpoint(
        self, name: Token, kind: Token, args: list[tuple[Token, Val]], span: Span
    ) -> ir.Endpoint | None:
        values = self.named_args(args, ENDPOINT_ARGS, f"provider `{name}`")
        if "base_url" not in values:
            self.report(
                "MMO005",
                f"provider `{name}` has no base_url",
                span,
                help='add `base_url: "http://host:port/v1"`',
            )
            return None
        return ir.Endpoint(name=str(name), kind=str(kind).replace("_", "-"), span=span, **values)
