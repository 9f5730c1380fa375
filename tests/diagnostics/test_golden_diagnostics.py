"""Golden diagnostics: each bad source beside its expected rendered text (no colour).

`MMOC_UPDATE_GOLDENS=1 pytest tests/diagnostics` rewrites the `.expected` files and
docs/diagnostics.md; a mismatch shows a diff.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest
from mmoc.cli.explain import diagnostics_markdown
from mmoc.diagnostics.examples import CHECKABLE, EXAMPLES
from mmoc.diagnostics.render import render_text
from mmoc.driver import load_path, load_text

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
UPDATE = os.environ.get("MMOC_UPDATE_GOLDENS") == "1"
CASES = sorted(p for p in HERE.iterdir() if p.suffix in (".mmo", ".yaml", ".yml"))


def compare(path: Path, actual: str) -> None:
    if UPDATE:
        path.write_text(actual, encoding="utf-8")
        return
    assert path.exists(), f"{path.name} is missing: run with MMOC_UPDATE_GOLDENS=1"
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                            "expected", "actual"))
        pytest.fail(f"{path.name} differs (MMOC_UPDATE_GOLDENS=1 to accept):\n{diff}")


@pytest.mark.parametrize("source", CASES, ids=[p.name for p in CASES])
def test_golden(source: Path) -> None:
    loaded = load_path(source, display=source.name)
    assert loaded.diagnostics, "a golden case must produce diagnostics"
    assert all(d.code != "MMO702" for d in loaded.diagnostics)
    text = render_text(loaded.diagnostics, {source.name: loaded.text or ""})
    compare(source.with_suffix(".expected"), text)


@pytest.mark.parametrize("code", CHECKABLE)
def test_every_example_produces_its_code(code: str) -> None:
    example = EXAMPLES[code]
    loaded = load_text(example.source, f"example.{example.language}", f".{example.language}")
    assert code in {d.code for d in loaded.diagnostics}


def test_every_code_has_an_example() -> None:
    from mmoc.diagnostics.codes import CODES

    assert set(CODES) == set(EXAMPLES)


def test_docs_diagnostics_is_generated_from_the_registry() -> None:
    compare(ROOT / "docs" / "diagnostics.md", diagnostics_markdown())
