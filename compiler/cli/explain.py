"""`mmoc explain CODE`, and docs/diagnostics.md: each code's explanation with its example,
rendered by really checking the example (so the documentation cannot drift)."""

from __future__ import annotations

import sys

import click

from ..diagnostics.codes import CODES, Code
from ..diagnostics.examples import EXAMPLES
from ..diagnostics.render import render_text
from ..driver import load_text
from .common import EXIT_USAGE, guard


def find_code(query: str) -> Code | None:
    """A code by `MMO201`, `mmo201`, `201` or slug `dependency-cycle`."""
    q = query.strip()
    upper = q.upper()
    if upper in CODES:
        return CODES[upper]
    if q.isdigit() and f"MMO{q.zfill(3)}" in CODES:
        return CODES[f"MMO{q.zfill(3)}"]
    slug = q.lower().replace("_", "-")
    for code in CODES.values():
        if code.slug == slug:
            return code
    partial = [code for code in CODES.values() if slug and slug in code.slug]
    return partial[0] if len(partial) == 1 else None


def explain_text(code: Code) -> str:
    lines = [f"{code.code} {code.slug} ({code.severity})", "", code.summary[:1].upper()
             + code.summary[1:] + ".", "", code.explanation]
    example = EXAMPLES.get(code.code)
    if example is not None:
        lines += ["", f"Example ({example.language}):", ""]
        lines += ["    " + line if line else "" for line in example.source.splitlines()]
        rendered = rendered_example(code.code)
        if rendered:
            lines += ["", "mmoc check reports:", ""]
            lines += ["    " + line if line else "" for line in rendered.splitlines()]
        if example.fix:
            lines += ["", "Fix: " + example.fix]
    return "\n".join(lines) + "\n"


@click.command()
@click.argument("code")
@guard("explaining")
def explain(code: str) -> None:
    """Explain a diagnostic CODE: MMO201, 201, or its slug such as dependency-cycle."""
    found = find_code(code)
    if found is None:
        import difflib

        names = [*CODES, *(c.slug for c in CODES.values())]
        near = difflib.get_close_matches(code.upper() if code[:3].lower() == "mmo" else code,
                                         names, n=1, cutoff=0.6)
        hint = f"; did you mean {near[0]}?" if near else ""
        click.echo(f"error: unknown diagnostic code {code!r}{hint}", err=True)
        click.echo("codes: " + ", ".join(CODES), err=True)
        sys.exit(EXIT_USAGE)
    click.echo(explain_text(found), nl=False)


def rendered_example(code: str) -> str | None:
    """The example's diagnostics with this code, rendered as `mmoc check` prints them."""
    example = EXAMPLES.get(code)
    if example is None or example.language not in ("mmo", "yaml"):
        return None
    display = f"example.{example.language}"
    loaded = load_text(example.source, display, f".{example.language}")
    found = [d for d in loaded.diagnostics if d.code == code]
    if not found:
        return None
    return render_text(found, {display: loaded.text or ""}, summary=False)


def diagnostics_markdown() -> str:
    """The text of docs/diagnostics.md: every code, its slug, summary, explanation, example."""
    out = [
        "# Diagnostics",
        "",
        "Every problem mmoc finds has a stable code, a slug, a default severity, a message that",
        "names everything involved, the place in the source, and usually a `help` line.",
        "`mmoc explain CODE` (or the slug) prints the entry below in the terminal.",
        "",
        "This file is generated from `compiler/diagnostics/codes.py` and",
        "`compiler/diagnostics/examples.py`;",
        "`make goldens` rewrites it.",
        "",
        "| code | slug | severity | summary |",
        "|---|---|---|---|",
    ]
    codes = sorted(CODES.values(), key=lambda c: c.code)
    for code in codes:
        out.append(f"| [{code.code}](#{code.code.lower()}) | `{code.slug}` | {code.severity} "
                   f"| {code.summary} |")
    for code in codes:
        out += ["", f"## {code.code}", "", f"`{code.slug}` · {code.severity} · {code.summary}",
                "", code.explanation]
        example = EXAMPLES.get(code.code)
        if example is not None:
            fence = {"mmo": "", "shell": "sh"}.get(example.language, example.language)
            out += ["", "Example:", "", f"```{fence}", example.source.rstrip("\n"), "```"]
            rendered = rendered_example(code.code) if not code.code.startswith("MMO0") else None
            if rendered:
                out += ["", "`mmoc check` reports:", "", "```", rendered.rstrip("\n"), "```"]
            if example.fix:
                out += ["", f"Fix: {example.fix}"]
    return "\n".join(out) + "\n"
