"""Issue 10: `python -m mmoc.demo FOLDER` runs a folder of the earlier library's YAML
pipelines (a `.mmo` wins where both exist), and says where it looked when it finds none."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from mmoc.cli.demo import find_sources, main

SEED_YAML = """\
name: {name}
version: "1.0"
metadata:
  owner: data-team
steps:
  - name: research
    model: gemini-2.5-flash-lite
    prompt: "Research {{topic}}"
    output_key: research_output
"""


def test_a_folder_of_yaml_pipelines_is_found_and_run(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "one.yaml").write_text(SEED_YAML.format(name="one"))
    (tmp_path / "two.yml").write_text(SEED_YAML.format(name="two"))
    (tmp_path / "two.mmo").write_text(
        'pipeline two {\n  step research = llm mock/w { prompt "Research {topic}" }'
        ' -> research_output\n}\n'
    )
    (tmp_path / "notes.txt").write_text("not a pipeline")
    assert find_sources([str(tmp_path)]) == [tmp_path / "one.yaml", tmp_path / "two.mmo"]
    assert main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "one: success" in out and "two: success" in out and "Traceback" not in out


def test_an_empty_folder_names_what_was_looked_for(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "mmoc.demo", str(tmp_path)], capture_output=True,
                         text=True, timeout=60, check=False)
    assert out.returncode == 1
    assert "no pipelines (.mmo, .yaml, .yml) found" in out.stdout and str(tmp_path) in out.stdout


def test_mmoc_run_on_a_folder_runs_each_pipeline_with_the_inputs_it_declares(
        tmp_path: Path) -> None:
    from support.cli_invoke import invoke

    (tmp_path / "one.yaml").write_text(SEED_YAML.format(name="one"))
    (tmp_path / "two.yaml").write_text(SEED_YAML.format(name="two"))  # its .mmo twin wins
    (tmp_path / "two.mmo").write_text(
        'pipeline two {\n  input lang: str\n'
        '  step research = llm mock/w { prompt "Research {lang}" } -> research_output\n}\n'
    )
    code, out, err = invoke(["run", str(tmp_path), "--mock", "-q",
                             "-i", "topic=tides", "-i", "lang=French"])
    assert code == 0, err
    assert "Research tides" in out and "Research French" in out
    assert "one.yaml" in err and "two.mmo" in err and "two.yaml" not in err
    # A pipeline that fails its inputs is reported and the others still run: the worst code.
    code, out, err = invoke(["run", str(tmp_path), "--mock", "-q", "-i", "topic=tides"])
    assert code == 2 and "Research tides" in out and "lang" in err


def test_mmoc_run_on_an_empty_folder_says_what_it_looked_for(tmp_path: Path) -> None:
    from support.cli_invoke import invoke

    code, _, err = invoke(["run", str(tmp_path), "--mock"])
    assert code == 2 and "no pipeline sources (.mmo, .yaml, .yml)" in err
    code, _, err = invoke(["run", str(tmp_path), "--json"])
    assert code == 2 and "not a folder" in err
