"""Diagnostics as SARIF 2.1.0, with every registered code as a rule of the driver.

Code scanning tools (GitHub's among them) read `runs[].tool.driver.rules` for the rule
texts and `results[]` for the findings; `ruleIndex` points into the rules array, which lists
the whole registry in code order so the indices are stable from run to run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from ..source import Span
from ..version import __version__
from .codes import CODES
from .model import Diagnostic, bounded

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def sarif_rules() -> list[dict[str, Any]]:
    return [
        {
            "id": code.code,
            "name": code.slug,
            "shortDescription": {"text": code.summary},
            "fullDescription": {"text": code.explanation},
            "help": {"text": f"mmoc explain {code.code}"},
            "defaultConfiguration": {"level": _LEVEL[code.severity]},
        }
        for code in sorted(CODES.values(), key=lambda c: c.code)
    ]


def _artifact(path: str) -> dict[str, str]:
    """A SARIF artifactLocation: a percent-encoded URI reference; relative paths are relative to
    the checkout (`%SRCROOT%`), absolute ones are `file://` URIs."""
    posix = path.replace("\\", "/")
    if posix.startswith("/"):
        return {"uri": "file://" + quote(posix)}
    return {"uri": quote(posix), "uriBaseId": "%SRCROOT%"}


def _physical(span: Span) -> dict[str, Any]:
    return {
        "physicalLocation": {
            "artifactLocation": _artifact(span.file),
            "region": {
                "startLine": span.line,
                "startColumn": span.column,
                "endLine": span.end_line,
                "endColumn": span.end_column,
            },
        }
    }


def _result(d: Diagnostic, index: dict[str, int]) -> dict[str, Any]:
    text = d.message + (f"\nhelp: {d.help}" if d.help else "")
    result: dict[str, Any] = {
        "ruleId": d.code,
        "ruleIndex": index[d.code],
        "level": _LEVEL[d.level],
        "message": {"text": text},
    }
    if d.span is not None:
        result["locations"] = [_physical(d.span)]
    if d.labels:
        result["relatedLocations"] = [
            {"id": i, **_physical(lab.span), "message": {"text": lab.message}}
            for i, lab in enumerate(d.labels)
        ]
    return result


def render_sarif(diags: Sequence[Diagnostic]) -> str:
    rules = sarif_rules()
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    log = {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "mmoc",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": [_result(d, index) for d in bounded(diags)],
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"
