"""Prompt templates: `{name}` is the only placeholder, `{{` and `}}` are literal braces.

Nothing in a template is ever evaluated: no attribute or index access, no format specs, no
conversions. The compiler uses `parse_template` to report problems with their offsets; the
runtime uses `render`, which stays safe even for templates no compiler has checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .errors import TemplateError

if TYPE_CHECKING:
    from dataclasses import dataclass
else:  # the same classes, their methods written on first use: see lazy_dataclass
    from .lazy_dataclass import dataclass


@dataclass(frozen=True)
class Placeholder:
    """`{name}` at text[start:end]."""

    name: str
    start: int
    end: int


@dataclass(frozen=True)
class TemplateProblem:
    """Something that is not a valid placeholder, at text[start:end]."""

    message: str
    start: int
    end: int


@dataclass(frozen=True)
class ParsedTemplate:
    # Literal text and placeholders, in order; literal pieces have `{{`/`}}` already folded.
    parts: tuple[str | Placeholder, ...]
    problems: tuple[TemplateProblem, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """Placeholder names, each once, in order of first use."""
        seen: dict[str, None] = {}
        for part in self.parts:
            if isinstance(part, Placeholder):
                seen.setdefault(part.name, None)
        return tuple(seen)


def parse_template(text: str) -> ParsedTemplate:
    parts: list[str | Placeholder] = []
    problems: list[TemplateProblem] = []
    literal: list[str] = []
    i, n = 0, len(text)
    close = 0  # the `}` found for an earlier `{` is still the next one while it lies ahead:
    # searching again from every `{` made `{a {a {a ...` quadratic
    while i < n:
        ch = text[i]
        if ch == "{":
            if text.startswith("{{", i):
                literal.append("{")
                i += 2
                continue
            if close != -1 and close <= i:
                close = text.find("}", i + 1)
            nxt = text.find("{", i + 1)
            if close == -1 or (nxt != -1 and nxt < close):
                problems.append(TemplateProblem("unclosed '{' in template", i, i + 1))
                literal.append(ch)
                i += 1
                continue
            name = text[i + 1 : close]
            if name.isidentifier():
                if literal:
                    parts.append("".join(literal))
                    literal = []
                parts.append(Placeholder(name, i, close + 1))
            else:
                problems.append(
                    TemplateProblem(_why_invalid(name), i, close + 1)
                )
                literal.append(text[i : close + 1])
            i = close + 1
        elif ch == "}":
            if text.startswith("}}", i):
                literal.append("}")
                i += 2
                continue
            problems.append(TemplateProblem("unmatched '}' in template", i, i + 1))
            literal.append(ch)
            i += 1
        else:
            literal.append(ch)
            i += 1
    if literal:
        parts.append("".join(literal))
    return ParsedTemplate(tuple(parts), tuple(problems))


def _why_invalid(body: str) -> str:
    shown = "{" + body + "}"
    if body == "":
        return f"empty placeholder {shown}"
    if "!" in body:
        return f"conversions are not allowed in placeholders: {shown}"
    if ":" in body:
        return f"format specs are not allowed in placeholders: {shown}"
    if "." in body or "[" in body:
        return f"attribute and index access are not allowed in placeholders: {shown}"
    return f"placeholder {shown} is not an identifier"


def render_value(value: Any) -> str:
    """How a value appears in a prompt: text as is, anything structured as compact JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list, tuple, bool)) or value is None:
        import json  # here: a generated module's import never needs it

        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return str(value)


def render(template: str | ParsedTemplate, values: Mapping[str, Any]) -> str:
    parsed = parse_template(template) if isinstance(template, str) else template
    if parsed.problems:
        raise TemplateError("; ".join(p.message for p in parsed.problems))
    missing = tuple(name for name in parsed.names if name not in values)
    if missing:
        raise TemplateError(
            "template needs missing key(s): " + ", ".join(missing), missing=missing
        )
    return "".join(
        render_value(values[part.name]) if isinstance(part, Placeholder) else part
        for part in parsed.parts
    )
