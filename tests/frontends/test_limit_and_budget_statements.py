"""`limit` and `budget` in both front ends: twins give the same IR, the printers round-trip
them, and every mistake is a diagnostic at its place (MMO004/MMO006 when read, MMO820-MMO825
from the checks)."""

from __future__ import annotations

import pytest
from mmoc.diagnostics.model import Diagnostic
from mmoc.driver import load_text
from mmoc.frontends.mmo.printer import money, print_mmo
from mmoc.frontends.yaml.printer import print_yaml

MMO = """\
pipeline p {
  input text: str

  model fast = gpt-4o-mini

  limit openai/gpt-4o-mini (rpm: 500, tpm: 200000, concurrency: 16)
  limit anthropic (rpm: 50, burst: 5)
  budget $0.50

  step a = llm fast {
    prompt "say {text}"
    fallback [anthropic/claude-haiku-4-5]
  } -> x
}
"""

YAML = """\
name: p
inputs:
  text: str
models:
  fast: gpt-4o-mini
limits:
  openai/gpt-4o-mini: {rpm: 500, tpm: 200000, concurrency: 16}
  anthropic: {rpm: 50, burst: 5}
budget: 0.5
steps:
  - name: a
    model: fast
    prompt: "say {text}"
    fallback: [anthropic/claude-haiku-4-5]
    output_key: x
"""


def _load(text: str, suffix: str = ".mmo") -> tuple[object, list[Diagnostic]]:
    result = load_text(text, f"t{suffix}", suffix)
    assert all(d.code != "MMO702" for d in result.diagnostics), result.diagnostics
    return result.pipeline, result.diagnostics


def _codes(text: str, suffix: str = ".mmo") -> list[str]:
    return [d.code for d in _load(text, suffix)[1]]


def test_the_twins_give_the_same_ir_and_no_diagnostic() -> None:
    mmo, mmo_diags = _load(MMO)
    yaml, yaml_diags = _load(YAML, ".yaml")
    assert mmo_diags == [] and yaml_diags == []
    assert mmo is not None and yaml is not None
    assert mmo.model_dump() == yaml.model_dump()  # type: ignore[attr-defined]
    assert mmo.budget == 0.5  # type: ignore[attr-defined]
    assert [lim.target for lim in mmo.limits] == ["openai/gpt-4o-mini", "anthropic"]  # type: ignore[attr-defined]


def test_fmt_and_convert_round_trip() -> None:
    p, _ = _load(MMO)
    printed = print_mmo(p)  # type: ignore[arg-type]
    assert printed == MMO  # already canonical: `budget $0.50` keeps its cents
    again, _ = _load(print_yaml(p), ".yaml")  # type: ignore[arg-type]
    assert again.model_dump() == p.model_dump()  # type: ignore[attr-defined]


@pytest.mark.parametrize(("amount", "text"), [
    (0.5, "$0.50"), (2, "$2.00"), (0.125, "$0.125"), (-1.0, "-$1.00"), (0, "$0.00"),
])
def test_money_is_printed_as_the_lexer_reads_it(amount: float, text: str) -> None:
    assert money(amount) == text
    p, _ = _load(MMO.replace("budget $0.50", f"budget {text}"))
    assert p.budget == amount  # type: ignore[attr-defined]


def test_a_bare_number_is_a_budget_too() -> None:
    p, _ = _load(MMO.replace("budget $0.50", "budget 0.25"))
    assert p.budget == 0.25  # type: ignore[attr-defined]


def test_reading_mistakes_are_named() -> None:
    assert _codes(MMO.replace("(rpm: 50,", "(rpms: 50,")) == ["MMO004"]
    assert _codes(MMO.replace("(rpm: 50,", '(rpm: "50",')) == ["MMO006"]
    assert _codes(MMO.replace("  budget $0.50\n", "  budget $0.50\n  budget $1\n")) == [
        "MMO107"]
    assert _codes(YAML.replace("{rpm: 50, burst: 5}", "{rpm: fast}"), ".yaml") == ["MMO006"]
    assert _codes(YAML.replace("{rpm: 50, burst: 5}", "{rpn: 5}"), ".yaml") == ["MMO820", "MMO004"]
    assert _codes(YAML.replace("budget: 0.5", "budget: lots"), ".yaml") == ["MMO006"]
    assert _codes(YAML.replace("budget: 0.5", "budget: -1"), ".yaml") == ["MMO824"]


@pytest.mark.parametrize(("change", "codes"), [
    (("(rpm: 50, burst: 5)", "(rpm: 0, burst: 1.5)"), ["MMO820", "MMO820"]),
    (("(rpm: 50, burst: 5)", "()"), ["MMO820"]),
    (("limit anthropic", "limit anthropik"), ["MMO821"]),
    (("limit anthropic", "limit anthropic/claude-haiku-4-5?x=1"), ["MMO821"]),
    (("limit anthropic", "limit gemini"), ["MMO822"]),
    (("limit anthropic", "limit openai/gpt-4o-mini"), ["MMO823"]),
    (("budget $0.50", "budget -$0.50"), ["MMO824"]),
    (("budget $0.50", "budget $0.0001"), ["MMO825"]),
])
def test_the_checks(change: tuple[str, str], codes: list[str]) -> None:
    assert _codes(MMO.replace(*change)) == codes


def test_limits_on_bare_names_aliases_and_providers_count_what_steps_call() -> None:
    for target in ("gpt-4o-mini", "openai", "anthropic/claude-haiku-4-5", "fast"):
        text = MMO.replace("limit anthropic (rpm: 50, burst: 5)", f"limit {target} (rpm: 5)")
        if target in ("gpt-4o-mini", "fast"):  # the same endpoint as the first limit
            text = text.replace("  limit openai/gpt-4o-mini (rpm: 500, tpm: 200000, "
                                "concurrency: 16)\n", "")
        assert _codes(text) == [], target


def test_an_alias_and_its_model_are_one_endpoint() -> None:
    text = MMO.replace("limit anthropic (rpm: 50, burst: 5)", "limit fast (rpm: 5)")
    assert _codes(text) == ["MMO823"]
