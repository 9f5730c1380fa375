"""Build-time checks of `test` blocks (MMO901-MMO910); each code's example is checked in
tests/diagnostics. These cover what the examples do not: inputs with defaults, inferred
inputs, and a valid test raising nothing."""

from __future__ import annotations

from mmoc.driver import load_text


def _codes(body: str) -> list[str]:
    result = load_text("pipeline demo {\n" + body + "\n}\n", "t.mmo", ".mmo")
    return [d.code for d in result.diagnostics]


STEPS = '''
  step research = llm mock/m {
    prompt "About {topic} in a {tone} tone"
  } -> notes
  step loud = transform upper(notes) -> shout
'''


def test_a_valid_test_raises_nothing() -> None:
    assert _codes('  input topic\n  input tone = "dry"\n' + STEPS + '''
  test t {
    input topic = "tea"
    reply research = "Tea."
    expect shout == "TEA."
    expect topic == "tea"
    expect step loud ran
  }''') == []


def test_an_input_with_a_default_may_be_left_out_but_not_a_required_one() -> None:
    declared = '  input topic\n  input tone = "dry"\n' + STEPS
    assert _codes(declared + "  test t {\n    input topic = \"x\"\n  }") == []
    assert _codes(declared + "  test t {\n    input tone = \"x\"\n  }") == ["MMO904"]


def test_inferred_inputs_are_required_too() -> None:
    # No `input` statement: `topic` and `tone` are the template's free names.
    assert _codes(STEPS + "  test t {\n    input topic = \"x\"\n  }") == ["MMO904"]
    assert _codes(STEPS + "  test t {\n    input topic = \"x\"\n    input tone = \"y\"\n  }") == []


def test_an_input_or_reply_given_twice_is_mmo107() -> None:
    body = '  input topic\n  input tone = "dry"\n' + STEPS + '''
  test t {
    input topic = "tea"
    input topic = "coffee"
    reply research = "a"
    reply research = "b"
  }'''
    assert _codes(body) == ["MMO107", "MMO107"]


def test_input_values_are_checked_as_a_run_checks_them() -> None:
    body = "  input n: int\n  input x: float\n  input flag: bool\n" + \
        "  step s = llm mock/m {\n    prompt \"{n} {x} {flag}\"\n  } -> out\n"
    def test(values: str) -> list[str]:
        return _codes(body + "  test t {\n" + values + "  }")
    assert test("    input n = 3\n    input x = 2\n    input flag = true\n") == []
    assert test('    input n = "3"\n    input x = 2.5\n    input flag = "false"\n') == []
    assert test("    input n = 2.5\n    input x = 1\n    input flag = 1\n") == ["MMO911", "MMO911"]
