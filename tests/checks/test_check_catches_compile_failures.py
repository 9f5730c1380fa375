"""What `check` used to pass but `compile` failed on (MMO702) is a check error: non-identifier
seed condition keys, built-ins with other than one key, NaN in ranges, non-finite input
defaults; condition messages name their step."""

from __future__ import annotations

from pathlib import Path

import pytest
from mmoc.diagnostics.model import Diagnostic
from mmoc.driver import compile_file, load_text


def yaml(text: str) -> list[Diagnostic]:
    return load_text(text, "t.yaml", ".yaml").diagnostics


def codes(found: list[Diagnostic]) -> list[str]:
    return [d.code for d in found]


def compiles_or_reports(tmp_path: Path, name: str, text: str) -> list[Diagnostic]:
    """The file's check diagnostics; and the promise that a clean check compiles."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = compile_file(path)
    assert "MMO702" not in codes(result.diagnostics), result.diagnostics
    return result.diagnostics


def test_seed_condition_key_that_is_not_an_identifier_is_mmo104(tmp_path: Path) -> None:
    text = """\
name: s
steps:
  - {name: c, model: gpt-4, prompt: Hello, condition: "key_exists:my-flag"}
"""
    found = compiles_or_reports(tmp_path, "s.yaml", text)
    (d,) = [d for d in found if d.code == "MMO104"]
    assert "`my-flag`" in d.message and "condition of step `c`" in d.message
    assert d.span is not None and d.span.line == 3


@pytest.mark.parametrize(
    ("name", "text", "reads"),
    [
        ("b.mmo", ("pipeline b {\n  input a: str\n  input b: str\n"
                   "  step t = transform upper(a, b) -> out\n}\n"), "2 (`a`, `b`)"),
        ("b.yaml", ("name: s\nsteps:\n  - {name: t, type: transform, function: upper, "
                    "output_key: o}\n"), "0 (none)"),
    ],
)
def test_builtin_transform_needs_exactly_one_key(
    tmp_path: Path, name: str, text: str, reads: str
) -> None:
    found = compiles_or_reports(tmp_path, name, text)
    (d,) = [d for d in found if d.code == "MMO602"]
    assert "built-in `upper`, which takes exactly one key" in d.message
    assert reads in d.message


NAN_FIELDS = [
    "temperature: .nan",
    "timeout: .nan",
    "retry: {max_retries: 2, base_delay_seconds: .nan}",
    "retry: {max_retries: 2, multiplier: .nan}",
    "retry: {max_retries: 2, max_delay_seconds: .nan}",
    "retry: {max_retries: 2, max_delay_seconds: .inf}",
    "breaker: {recovery_timeout_seconds: .nan}",
    "timeout: .inf",
]


@pytest.mark.parametrize("field", NAN_FIELDS)
def test_nan_and_infinity_fail_every_range(tmp_path: Path, field: str) -> None:
    text = f"name: s\nsteps:\n  - {{name: c, model: gpt-4, prompt: Hi, {field}}}\n"
    found = compiles_or_reports(tmp_path, "s.yaml", text)
    assert [c for c in codes(found) if c in ("MMO501", "MMO507")], found


@pytest.mark.parametrize("default", [".nan", ".inf", "-.inf"])
def test_non_finite_input_default_is_mmo110(tmp_path: Path, default: str) -> None:
    text = (f"name: s\ninputs:\n  x: {{type: float, default: {default}}}\n"
            "steps:\n  - {name: c, model: gpt-4, prompt: 'Hi {x}'}\n")
    found = compiles_or_reports(tmp_path, "s.yaml", text)
    assert "MMO110" in codes(found)


@pytest.mark.parametrize("condition", ["len(o5) >>> 3", "equals:k", "key_exists:"])
def test_yaml_condition_errors_name_their_step(condition: str) -> None:
    text = ("name: s\nsteps:\n  - {name: x, model: gpt-4, prompt: Hello, output_key: o5}\n"
            f"  - {{name: y, model: gpt-4, prompt: 'Hi {{o5}}', condition: '{condition}'}}\n")
    (d,) = [d for d in yaml(text) if d.code == "MMO601"]
    assert "in the condition of step `y`" in d.message
    assert d.span is not None and d.span.line == 4
