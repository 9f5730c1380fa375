"""Diagnostics as SARIF 2.1.0, with every registered code as a rule of the driver.

Code scanning tools (GitHub's among them) read `runs[].tool.driver.rules` for the rule
texts and `results[]` for the findings; `ruleIndex` points into the rules array, which lists
the whole registry in code order so the indices are stable from run to run.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ..source import Span
from ..version import __version__
from .codes import CODES
from .model import Diagnostic, bounded

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
# The project's home and the page explaining every code (each rule's `helpUri` is its anchor).
INFORMATION_URI = "https://github.com/mmoc-dev/mmoc"
DIAGNOSTICS_DOC = f"{INFORMATION_URI}/blob/main/docs/diagnostics.md"
SRCROOT = "%SRCROOT%"
_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def sarif_rules() -> list[dict[str, Any]]:
    return [
        {
            "id": code.code,
            "name": code.slug,
            "shortDescription": {"text": code.summary},
            "fullDescription": {"text": code.explanation},
            "helpUri": f"{DIAGNOSTICS_DOC}#{code.code.lower()}",
            "help": {
                "text": f"{code.explanation} Run `mmoc explain {code.code}` for an example.",
                "markdown": f"**{code.code} `{code.slug}`** ({code.severity}): "
                f"{code.explanation}\n\nRun `mmoc explain {code.code}` for an example and "
                f"its fix, or see [{code.code}]({DIAGNOSTICS_DOC}#{code.code.lower()}).",
            },
            "defaultConfiguration": {"level": _LEVEL[code.severity]},
        }
        for code in sorted(CODES.values(), key=lambda c: c.code)
    ]


@dataclass(frozen=True)
class _Base:
    """Where relative display paths start (`cwd`) and the root URIs are relative to (`root`,
    the repository's top level): the same URIs from any working directory."""

    root: str
    cwd: str

    def artifact(self, path: str) -> dict[str, str]:
        """A SARIF artifactLocation: a percent-encoded URI reference relative to the root
        (`%SRCROOT%`), or a `file://` URI for a file outside it."""
        posix = _posix(path)
        absolute = posix if posix.startswith("/") else posixpath.join(self.cwd, posix)
        relative = posixpath.relpath(posixpath.normpath(absolute), self.root)
        if relative == ".." or relative.startswith("../"):
            return {"uri": _file_uri(posixpath.normpath(absolute))}
        return {"uri": quote(relative), "uriBaseId": SRCROOT}


def _file_uri(absolute: str) -> str:
    return "file://" + quote(absolute if absolute.startswith("/") else "/" + absolute)


def _posix(path: str) -> str:
    return path.replace("\\", "/")


def _physical(span: Span, base: _Base) -> dict[str, Any]:
    return {
        "physicalLocation": {
            "artifactLocation": base.artifact(span.file),
            "region": {
                "startLine": span.line,
                "startColumn": span.column,
                "endLine": span.end_line,
                "endColumn": span.end_column,
            },
        }
    }


def _fingerprint(d: Diagnostic, uri: str, seen: Counter[str]) -> str:
    """Stable across commits: the code, the file and the message (which names the steps and
    keys involved), not the line; `:n` tells identical findings in one file apart."""
    digest = hashlib.sha256(f"{d.code}\0{uri}\0{d.message}".encode()).hexdigest()[:32]
    seen[digest] += 1
    return f"{digest}:{seen[digest]}"


def _result(
    d: Diagnostic, index: dict[str, int], base: _Base, seen: Counter[str]
) -> dict[str, Any]:
    text = d.message + (f"\nhelp: {d.help}" if d.help else "")
    result: dict[str, Any] = {
        "ruleId": d.code,
        "ruleIndex": index[d.code],
        "level": _LEVEL[d.level],
        "message": {"text": text},
    }
    uri = ""
    if d.span is not None:
        location = _physical(d.span, base)
        result["locations"] = [location]
        uri = location["physicalLocation"]["artifactLocation"]["uri"]
    if d.labels:
        result["relatedLocations"] = [
            {"id": i, **_physical(lab.span, base), "message": {"text": lab.message}}
            for i, lab in enumerate(d.labels)
        ]
    result["partialFingerprints"] = {"mmocFindingHash/v1": _fingerprint(d, uri, seen)}
    return result


def render_sarif(
    diags: Sequence[Diagnostic], root: str | None = None, cwd: str | None = None
) -> str:
    """The SARIF log of `diags`. URIs are relative to `root` (the repository's top level;
    default the working directory), display paths relative to `cwd` (default: the working
    directory), so a log made anywhere in the checkout names files the same way."""
    here = _posix(cwd if cwd is not None else os.getcwd())
    base = _Base(_posix(root) if root is not None else here, here)
    rules = sarif_rules()
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    seen: Counter[str] = Counter()
    log = {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "mmoc",
                        "version": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {SRCROOT: {"uri": _file_uri(base.root.rstrip("/")) + "/"}},
                "columnKind": "unicodeCodePoints",
                "results": [_result(d, index, base, seen) for d in bounded(diags)],
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"
