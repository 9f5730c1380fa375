"""Golden diagnostics: each bad source beside its expected rendered text (no colour).

`make goldens` (`pytest --update-goldens`) rewrites the `.expected` files and
docs/diagnostics.md; a mismatch shows a diff.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from mmoc.cli.explain import diagnostics_markdown
from mmoc.diagnostics.examples import CHECKABLE, EXAMPLES
from mmoc.diagnostics.render import render_text
from mmoc.driver import load_path, load_text
from support.goldens import compare_or_update

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
CASES = sorted(p for p in HERE.iterdir() if p.suffix in (".mmo", ".yaml", ".yml"))


@pytest.mark.parametrize("source", CASES, ids=[p.name for p in CASES])
def test_golden(source: Path, update_goldens: bool) -> None:
    loaded = load_path(source, display=source.name)
    assert loaded.diagnostics, "a golden case must produce diagnostics"
    assert all(d.code != "MMO702" for d in loaded.diagnostics)
    text = render_text(loaded.diagnostics, {source.name: loaded.text or ""})
    compare_or_update(source.with_suffix(".expected"), text, update_goldens)


@pytest.mark.parametrize("code", CHECKABLE)
def test_every_example_produces_its_code(code: str) -> None:
    example = EXAMPLES[code]
    loaded = load_text(example.source, f"example.{example.language}", f".{example.language}")
    assert code in {d.code for d in loaded.diagnostics}


def test_every_code_has_an_example() -> None:
    from mmoc.diagnostics.codes import CODES

    assert set(CODES) == set(EXAMPLES)


def test_docs_diagnostics_is_generated_from_the_registry(update_goldens: bool) -> None:
    compare_or_update(ROOT / "docs" / "diagnostics.md", diagnostics_markdown(), update_goldens)
