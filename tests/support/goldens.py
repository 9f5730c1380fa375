"""Golden files: the cases in `tests/cases/` and the shipped pipelines are one list of
`GoldenCase`s, and every golden file (modules, rendered diagnostics, generated docs) is
compared, or rewritten under `pytest --update-goldens` (`make goldens`), by one function."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.generated import CASES, PIPELINES, ROOT

UPDATE_HINT = "run `make goldens` (pytest --update-goldens) to accept the change"


@dataclass(frozen=True)
class GoldenCase:
    """A pipeline source and the module it must compile to, byte for byte."""

    id: str
    source: Path  # the .mmo
    expected: Path  # the checked-in module

    @property
    def twin(self) -> Path | None:
        """The YAML twin, which must give the same IR, when there is one."""
        yaml = self.source.with_suffix(".yaml")
        return yaml if yaml.exists() else None

    @property
    def statuses(self) -> Path | None:
        """Each step's pinned status on the sample inputs (`statuses.json`), if any."""
        pinned = self.source.with_name("statuses.json")
        return pinned if pinned.exists() else None


def golden_cases() -> list[GoldenCase]:
    """Every folder of `tests/cases/` (`pipeline.mmo` -> `expected.py`) and every shipped
    pipeline (`pipelines/x.mmo` -> `pipelines/x_gen.py`)."""
    folders = sorted(d for d in CASES.iterdir() if d.is_dir() and not d.name.startswith(("_", ".")))
    cases = [GoldenCase(f"cases/{d.name}", d / "pipeline.mmo", d / "expected.py") for d in folders]
    cases += [
        GoldenCase(f"pipelines/{p.stem}", p, p.with_name(f"{p.stem}_gen.py"))
        for p in sorted(PIPELINES.glob("*.mmo"))
    ]
    return cases


def compare_or_update(path: Path, actual: str, update: bool) -> None:
    """`path` must hold `actual`; with `update`, it is rewritten to hold it. A mismatch fails
    with a unified diff."""
    if update:
        path.write_text(actual, encoding="utf-8")
        return
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    assert path.exists(), f"{shown} is missing: {UPDATE_HINT}"
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                f"{shown} (golden)",
                f"{shown} (now)",
            )
        )
        pytest.fail(f"{shown} differs; {UPDATE_HINT}:\n{diff}")
