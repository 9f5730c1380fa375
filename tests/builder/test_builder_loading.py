"""`Pipeline.from_file` and friends read files as `mmoc` does (through `loader.load_path`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from mmoc.builder.pipeline import Pipeline, PipelineValidationError

MMO = 'pipeline p {\n  step a = llm mock/m {\n    prompt "hi"\n  } -> out\n}\n'


def test_from_file_picks_the_front_end_as_the_loader_does(tmp_path: Path) -> None:
    upper = tmp_path / "P.MMO"  # the suffix is case-insensitive, as for `mmoc check`
    upper.write_text(MMO, encoding="utf-8")
    assert Pipeline.from_file(upper).name == "p"
    bom = tmp_path / "bom.mmo"
    bom.write_text("\ufeff" + MMO, encoding="utf-8")
    assert Pipeline.from_file(bom).to_ir().model_dump() == Pipeline.from_mmo(MMO).to_ir().model_dump()


def test_a_file_that_is_not_utf8_is_invalid_not_missing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"name: x\nsteps: []\n\xff\n")
    with pytest.raises(PipelineValidationError) as info:
        Pipeline.from_file(bad)
    assert [d.code for d in info.value.diagnostics] == ["MMO001"]
    assert info.value.diagnostics[0].span is not None and info.value.diagnostics[0].span.line == 3


def test_missing_files_still_raise_file_not_found(tmp_path: Path) -> None:
    for load in (Pipeline.from_file, Pipeline.from_yaml_file):
        with pytest.raises(FileNotFoundError):
            load(tmp_path / "nope.yaml")


def test_from_yaml_file_reads_any_suffix_as_yaml(tmp_path: Path) -> None:
    f = tmp_path / "pipeline.txt"
    f.write_text("name: x\nsteps:\n  - name: a\n    model: mock/m\n    prompt: hi\n")
    assert [s.name for s in Pipeline.from_yaml_file(f).steps] == ["a"]
    with pytest.raises(PipelineValidationError, match="Invalid YAML pipeline"):
        Pipeline.from_yaml("name: x\nsteps: 3\n")
