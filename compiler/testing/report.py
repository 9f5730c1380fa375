"""Test reports: pytest-like text, one JSON object, and JUnit XML for CI (docs/testing.md).

Plain strings only: the CLI prints them (it is the only Rich user). A source that did not
compile counts as one error in every format (JUnit: a test case named after the file with an
`<error>`), so CI never reports green for a pipeline it could not test.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from xml.etree import ElementTree as ET

from .collect import TestFile
from .evaluate import Outcome
from .runner import ERROR, FAILED, PASSED, TestResult

WIDTH = 80
# Characters XML 1.0 cannot hold (a model's reply may contain them): shown as U+FFFD.
_NOT_XML = dict.fromkeys([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF],
                         "\ufffd")
FORMATS = ("text", "json", "junit")


def counts(results: Sequence[TestResult], broken: Sequence[TestFile]) -> dict[str, int]:
    out = {PASSED: 0, FAILED: 0, ERROR: len(broken)}
    for r in results:
        out[r.status] += 1
    return out


def _banner(text: str, fill: str = "=") -> str:
    side = max((WIDTH - len(text) - 2) // 2, 3)
    return f"{fill * side} {text} {fill * side}"


def summary_line(results: Sequence[TestResult], broken: Sequence[TestFile],
                 seconds: float) -> str:
    n = counts(results, broken)
    parts = [f"{n[k]} {k}" for k in (FAILED, ERROR, PASSED) if n[k]]
    skipped = sum(1 for r in results for o in r.outcomes if o.skipped)
    if skipped:
        parts.append(f"{skipped} not judged")
    return _banner(", ".join(parts or ["no tests ran"]) + f" in {seconds:.2f}s")


def outcome_lines(r: TestResult, o: Outcome) -> list[str]:
    where = f"{r.file}:{o.line}: " if o.line is not None else ""
    lines = [f"{where}expect {o.text}"]
    if o.message:
        lines.append(f"E   {o.message}")
    lines.extend(f"E   {d}" for d in o.diff)
    return lines


def failure_lines(r: TestResult) -> list[str]:
    lines = [_banner(r.test_id, "_")]
    if r.error:
        lines.extend(f"E   {line}" for line in r.error.splitlines())
    for o in r.failures:
        lines.extend(outcome_lines(r, o))
    return lines


def text_report(results: Sequence[TestResult], broken: Sequence[TestFile], mode: str,
                seconds: float) -> str:
    """What `mmoc test` prints by default: one line per test, then each failure."""
    files = len({r.file for r in results})
    lines = [(f"collected {len(results)} test{'s' if len(results) != 1 else ''} from {files} "
             f"file{'s' if files != 1 else ''} (mode: {mode})"), ""]
    for r in results:
        note = sum(1 for o in r.outcomes if o.skipped)
        extra = f" ({note} not judged under --mock)" if note else ""
        lines.append(f"{r.test_id} {r.status.upper()}{extra}")
    for f in broken:
        lines.append(f"{f.display} ERROR (the pipeline has errors, see above)")
    failed = [r for r in results if r.status != PASSED]
    if failed:
        lines += ["", _banner("FAILURES")]
        for r in failed:
            lines.extend(failure_lines(r))
    lines.append(summary_line(results, broken, seconds))
    return "\n".join(lines) + "\n"


def _outcome_dict(o: Outcome) -> dict[str, Any]:
    return {"expect": o.text, "line": o.line, "passed": o.passed, "skipped": o.skipped,
            "message": o.message or None, "diff": list(o.diff)}


def json_report(results: Sequence[TestResult], broken: Sequence[TestFile], mode: str,
                seconds: float) -> str:
    """One JSON object: the mode, the counts, each test with each expectation's verdict."""
    data = {
        "mode": mode,
        "summary": counts(results, broken) | {"total": len(results) + len(broken),
                                               "seconds": round(seconds, 3)},
        "tests": [{
            "id": r.test_id, "file": r.file, "name": r.name, "line": r.line,
            "status": r.status, "error": r.error, "seconds": round(r.seconds, 3),
            "cost_usd": r.cost_usd, "expectations": [_outcome_dict(o) for o in r.outcomes],
        } for r in results],
        "broken_files": [f.display for f in broken],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _xml(text: str) -> str:
    return "".join(ch for ch in text.translate(_NOT_XML) if not 0xD800 <= ord(ch) <= 0xDFFF)


def _time(seconds: float) -> str:
    return f"{max(seconds, 0.0):.3f}"


def _case(r: TestResult) -> ET.Element:
    case = ET.Element("testcase", name=r.name, classname=_classname(r.file),
                      time=_time(r.seconds))
    if r.status == ERROR:
        error = ET.SubElement(case, "error", message=r.error or "error", type="error")
        error.text = r.error or ""
    elif r.status == FAILED:
        body: list[str] = [r.error] if r.error else []
        for o in r.failures:
            body.extend(outcome_lines(r, o))
        first = r.failures[0] if r.failures else None
        message = f"expect {first.text}: {first.message}" if first else (r.error or "failed")
        failure = ET.SubElement(case, "failure", message=message.splitlines()[0],
                                type="expectation" if first else "run_failed")
        failure.text = "\n".join(body)
    return case


def _classname(file: str) -> str:
    # A dotted name (CI systems group cases by it): the path without its suffix.
    stem = file.rsplit(".", 1)[0] if "." in file.rsplit("/", 1)[-1] else file
    return stem.replace("/", ".").strip(".") or "mmoc"


def junit_report(results: Sequence[TestResult], broken: Sequence[TestFile],
                 seconds: float) -> str:
    """JUnit XML: one `<testsuite>` per source file, one `<testcase>` per test."""
    root = ET.Element("testsuites", name="mmoc test")
    by_file: dict[str, list[TestResult]] = {}
    for r in results:
        by_file.setdefault(r.file, []).append(r)
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for file, cases in by_file.items():
        suite = _suite(root, file, len(cases),
                       sum(c.status == FAILED for c in cases), sum(c.status == ERROR for c in cases),
                       sum(c.seconds for c in cases))
        suite.extend(_case(c) for c in cases)
    for f in broken:
        suite = _suite(root, f.display, 1, 0, 1, 0.0)
        case = ET.SubElement(suite, "testcase", name="compile", classname=_classname(f.display),
                             time=_time(0.0))
        message = "the pipeline has errors: " + "; ".join(
            f"error[{d.code}]: {d.message}" for d in f.diagnostics if d.is_error)
        ET.SubElement(case, "error", message=message, type="compile").text = message
    for suite in root:
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    root.set("tests", str(totals["tests"]))
    root.set("failures", str(totals["failures"]))
    root.set("errors", str(totals["errors"]))
    root.set("time", _time(seconds))
    for node in root.iter():
        node.text = _xml(node.text) if node.text else node.text
        for key, value in node.attrib.items():
            node.set(key, _xml(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _suite(root: ET.Element, name: str, tests: int, failures: int, errors: int,
           seconds: float) -> ET.Element:
    return ET.SubElement(root, "testsuite", name=name, tests=str(tests),
                         failures=str(failures), errors=str(errors), skipped="0",
                         time=_time(seconds))
