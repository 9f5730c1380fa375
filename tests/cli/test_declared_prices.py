"""Prices `[tool.mmoc.models]` declares: what `mmoc run` costs a call at (the trace, not
estimated), what the budget check (MMO825) and `mmoc test`'s cost expectations use.

Each command runs in its own process: declaring prices is process-wide."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

FINE_TUNE = "openai/ft:gpt-4o-mini:acme::x1"

PIPELINE = f"""\
pipeline priced {{
  input topic: str
  output answer
  budget $0.50

  step ask = llm {FINE_TUNE} {{
    prompt "Tell me about {{topic}}"
    max_tokens 100
  }} -> answer

  test costs_little {{
    input topic = "tea"
    expect cost <= $0.01
  }}
}}
"""


def mmoc(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mmoc", *args], cwd=project, text=True, check=False,
                          capture_output=True, timeout=120)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "priced.mmo").write_text(PIPELINE)
    return tmp_path


def declare(project: Path, input_usd: float, output_usd: float) -> None:
    (project / "pyproject.toml").write_text(
        f'[tool.mmoc.models]\n"{FINE_TUNE}" = {{input = {input_usd}, output = {output_usd}}}\n')


def test_a_run_costs_a_declared_model_at_its_declared_price(project: Path) -> None:
    declare(project, 300.0, 1200.0)
    done = mmoc(project, "run", "priced.mmo", "--mock", "-i", "topic=tea", "--trace", "t.json")
    assert done.returncode == 0, done.stderr
    assert "MMO401" not in done.stderr  # declared: not an unknown model, as in `mmoc check`
    step = json.loads((project / "t.json").read_text())["steps"][0]
    expected = (step["input_tokens"] * 300.0 + step["output_tokens"] * 1200.0) / 1_000_000
    assert step["cost_usd"] == pytest.approx(expected)
    assert step["cost_estimated"] is False


def test_a_declared_model_without_prices_stays_an_estimate(project: Path) -> None:
    (project / "pyproject.toml").write_text(f'[tool.mmoc.models]\n"{FINE_TUNE}" = {{}}\n')
    done = mmoc(project, "run", "priced.mmo", "--mock", "-i", "topic=tea", "--trace", "t.json")
    assert done.returncode == 0, done.stderr
    assert json.loads((project / "t.json").read_text())["steps"][0]["cost_estimated"] is True


def test_the_budget_check_and_test_expectations_use_the_declared_price(project: Path) -> None:
    declare(project, 0.30, 1.20)  # cheap: the smallest call fits, the test's cost too
    assert "MMO825" not in mmoc(project, "check", "priced.mmo").stdout
    assert mmoc(project, "test", "priced.mmo", "--mock").returncode == 0
    declare(project, 300.0, 1200.0)  # a call fits in the budget, but costs over $0.01
    assert "MMO825" not in mmoc(project, "check", "priced.mmo").stdout
    tested = mmoc(project, "test", "priced.mmo", "--mock")
    assert tested.returncode == 1
    assert "expect cost <= $0.01" in tested.stdout, tested.stdout
    declare(project, 3000.0, 12000.0)  # 100 output tokens alone cost $1.20
    checked = mmoc(project, "check", "priced.mmo")
    assert "MMO825" in checked.stdout and "$1.2" in checked.stdout
