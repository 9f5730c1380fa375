"""Every construct of the language: source text to the IR it means (compared by model_dump)."""

from __future__ import annotations

from typing import Any

import pytest
from mmoc import ir
from mmoc.frontends.mmo.parse import parse_condition, parse_mmo


def parse_ok(text: str) -> ir.Pipeline:
    p, diags = parse_mmo(text, "t.mmo")
    assert diags == [], [(d.code, d.message) for d in diags]
    assert p is not None
    return p


def one_step(body: str, head: str = "step s = llm m") -> dict[str, Any]:
    p = parse_ok(f"pipeline t {{\n  {head} {{\n{body}\n  }} -> out\n}}\n")
    return p.steps[0].model_dump()


def test_header_fields() -> None:
    p = parse_ok('pipeline demo {\n  version "1.0"\n  description "Does things"\n}')
    assert (p.name, p.version, p.description) == ("demo", "1.0", "Does things")
    assert p.inputs_declared is False and p.steps == ()


def test_inputs_with_types_and_defaults() -> None:
    p = parse_ok(
        "pipeline t { input topic: str  input n: int = 3  input ratio: float = -0.5\n"
        '  input on: bool = true  input blob: json = {"a": [1, null, "x"]}  input free }'
    )
    assert p.inputs_declared is True
    dumped = [i.model_dump() for i in p.inputs]
    assert dumped == [
        {"name": "topic", "type": "str", "default": None, "has_default": False},
        {"name": "n", "type": "int", "default": 3, "has_default": True},
        {"name": "ratio", "type": "float", "default": -0.5, "has_default": True},
        {"name": "on", "type": "bool", "default": True, "has_default": True},
        {"name": "blob", "type": "json", "default": {"a": [1, None, "x"]}, "has_default": True},
        {"name": "free", "type": None, "default": None, "has_default": False},
    ]


def test_outputs_accumulate_over_lines() -> None:
    p = parse_ok("pipeline t { output summary, key_points\n output extra }")
    assert [o.name for o in p.outputs] == ["summary", "key_points", "extra"]


def test_model_alias_and_endpoint() -> None:
    p = parse_ok(
        "pipeline t {\n model fast = gemini/gemini-2.5-flash-lite\n"
        ' provider local = openai_compatible(base_url: "http://localhost:8000/v1",'
        ' api_key_env: "LOCAL_KEY")\n}'
    )
    assert p.models[0].model_dump() == {
        "name": "fast",
        "model": {"id": "gemini/gemini-2.5-flash-lite"},
    }
    assert p.providers[0].model_dump() == {
        "name": "local",
        "kind": "openai-compatible",
        "base_url": "http://localhost:8000/v1",
        "api_key_env": "LOCAL_KEY",
    }


def test_named_policies_and_defaults() -> None:
    p = parse_ok(
        "pipeline t {\n"
        "  retry patient = exponential(max_retries: 4, base: 500ms, max: 30s, multiplier: 3,"
        " jitter: full, on: [rate_limit, timeout])\n"
        "  retry quick = constant(max_retries: 2, delay: 2s)\n"
        "  breaker guard = breaker(failures: 5, recovery: 1m, trials: 2)\n"
        "  default retry patient\n  default breaker guard\n  default timeout 30s\n}"
    )
    assert p.retry_policies[0].model_dump() == {
        "kind": "retry",
        "name": "patient",
        "max_retries": 4,
        "backoff": "exponential",
        "base_delay": 0.5,
        "multiplier": 3,
        "max_delay": 30.0,
        "jitter": "full",
        "retry_on": ({"name": "rate_limit"}, {"name": "timeout"}),
    }
    quick = p.retry_policies[1]
    assert (quick.backoff, quick.max_retries, quick.base_delay) == ("constant", 2, 2.0)
    assert p.breaker_policies[0].model_dump() == {
        "kind": "breaker",
        "name": "guard",
        "failure_threshold": 5,
        "recovery_timeout": 60.0,
        "half_open_max_calls": 2,
    }
    assert p.defaults.model_dump() == {
        "retry": {"kind": "ref", "name": "patient"},
        "breaker": {"kind": "ref", "name": "guard"},
        "timeout": 30.0,
        "cache": None,
    }


def test_inline_default_policies() -> None:
    p = parse_ok(
        "pipeline t { default retry constant(max_retries: 1)  default breaker(failures: 2) }"
    )
    assert isinstance(p.defaults.retry, ir.RetryPolicy) and p.defaults.retry.max_retries == 1
    assert isinstance(p.defaults.breaker, ir.BreakerPolicy)
    assert p.defaults.breaker.failure_threshold == 2


def test_llm_step_every_field() -> None:
    step = one_step(
        '    prompt "Hello {name}"\n    system "Be brief"\n    temperature 0.2\n'
        '    max_tokens 500\n    stop ["\\n\\n", "END"]\n    after a, b\n    after c\n'
        "    when exists(name)\n    retry exponential(max_retries: 2)\n"
        "    fallback [openai/gpt-4o-mini, anthropic/claude-haiku-4-5]\n"
        "    breaker(failures: 3, recovery: 10s)\n    timeout 1m\n"
        '    json schema {"type": "object", "required": ["a"]}'
    )
    assert step["prompt"] == {"value": "Hello {name}"}
    assert step["system"] == {"value": "Be brief"}
    assert (step["temperature"], step["max_tokens"]) == (0.2, 500)
    assert step["stop"] == ("\n\n", "END")
    assert [a["name"] for a in step["after"]] == ["a", "b", "c"]
    assert step["when"] == {
        "kind": "call",
        "func": "exists",
        "args": ({"kind": "key", "name": "name"},),
    }
    assert step["retry"]["max_retries"] == 2 and step["retry"]["name"] is None
    assert [m["id"] for m in step["fallback"]] == [
        "openai/gpt-4o-mini",
        "anthropic/claude-haiku-4-5",
    ]
    assert step["breaker"]["failure_threshold"] == 3 and step["breaker"]["recovery_timeout"] == 10.0
    assert step["timeout"] == 60.0
    assert step["output"] == {"format": "json", "schema_": {"type": "object", "required": ["a"]}}
    assert step["output_key"] == "out"


def test_plain_json_output_and_policy_refs() -> None:
    step = one_step('    prompt "x"\n    json\n    retry patient\n    breaker guard')
    assert step["output"] == {"format": "json", "schema_": None}
    assert step["retry"] == {"kind": "ref", "name": "patient"}
    assert step["breaker"] == {"kind": "ref", "name": "guard"}


def test_model_ids_with_mock_options_lex_as_one_token() -> None:
    p = parse_ok('pipeline t { step s = llm mock/fast?latency_ms=50&fail_first=2 { prompt "x" } }')
    assert p.steps[0].model.id == "mock/fast?latency_ms=50&fail_first=2"


def test_output_key_defaults_to_name_output() -> None:
    p = parse_ok('pipeline t { step s = llm m { prompt "x" } step u = transform upper(s_output) }')
    assert [s.output_key for s in p.steps] == ["s_output", "u_output"]


def test_transform_steps() -> None:
    p = parse_ok(
        "pipeline t {\n"
        "  step a = transform pkg.mod:fn(x, y) -> k1\n"
        "  step b = transform upper(reads analysis) { after a\n when k1\n timeout 2s } -> k2\n"
        "  step c = transform strip() -> k3\n}"
    )
    a, b, c = p.steps
    assert a.model_dump() == {
        "name": "a",
        "output_key": "k1",
        "after": (),
        "when": None,
        "timeout": None,
        "kind": "transform",
        "function": "pkg.mod:fn",
        "reads": ({"name": "x"}, {"name": "y"}),
        "pass_context": False,
    }
    assert (b.function, [r.name for r in b.reads], b.timeout) == ("upper", ["analysis"], 2.0)
    assert b.after[0].name == "a" and b.when is not None and b.when.model_dump() == key("k1")
    assert c.reads == ()


def test_parallel_group() -> None:
    p = parse_ok(
        "pipeline t {\n  parallel fan (concurrency: 2) {\n    after first\n"
        '    step x = llm m { prompt "a" } -> xa\n'
        "    step y = transform lower(xa) -> ya\n  } -> both\n"
        "  parallel loose { step z = transform upper(q) -> za }\n}"
    )
    fan, loose = p.steps
    assert isinstance(fan, ir.GroupStep)
    assert (fan.concurrency, fan.output_key, [s.name for s in fan.steps]) == (2, "both", ["x", "y"])
    assert fan.after[0].name == "first"
    assert loose.output_key == "loose_output" and loose.concurrency is None  # the default


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("500ms", 0.5), ("2s", 2.0), ("1.5s", 1.5), ("1m", 60.0), ("1h", 3600.0), ("1.5m", 90.0)],
)
def test_durations_are_seconds(text: str, seconds: float) -> None:
    assert one_step(f'    prompt "x"\n    timeout {text}')["timeout"] == seconds


def test_string_escapes() -> None:
    step = one_step(r'    prompt "a\nb\tc\\d\"e{{f}}\u00e9"')
    assert step["prompt"]["value"] == 'a\nb\tc\\d"e{{f}}\u00e9'


def test_triple_quoted_strips_indentation_and_edges() -> None:
    step = one_step('    prompt """\n      Line one\n        indented {x}\n\n      last\n    """')
    assert step["prompt"]["value"] == "Line one\n  indented {x}\n\nlast"


def test_triple_quoted_on_one_line() -> None:
    assert one_step('    prompt """say "hi" {x}"""')["prompt"]["value"] == 'say "hi" {x}'


def test_keywords_are_names_where_no_keyword_fits() -> None:
    p = parse_ok(
        "pipeline step {\n  input json: str\n"
        '  step timeout = llm m { prompt "{json}" when json contains "x" } -> output\n'
        "  step prompt = transform upper(output) { after timeout } -> llm\n}"
    )
    assert p.name == "step"
    assert [s.name for s in p.steps] == ["timeout", "prompt"]
    assert [s.output_key for s in p.steps] == ["output", "llm"]


def cond(text: str) -> dict[str, Any]:
    expr, diags = parse_condition(text, "c")
    assert diags == [] and expr is not None
    return (
        ir.Pipeline(name="x", steps=(ir.TransformStep(name="s", function="f", when=expr),))
        .steps[0]
        .model_dump()["when"]
    )


def key(name: str) -> dict[str, Any]:
    return {"kind": "key", "name": name}


def lit(value: Any) -> dict[str, Any]:
    return {"kind": "literal", "value": value}


def test_condition_precedence() -> None:
    assert cond('len(draft) > 100 and not (mode == "fast")') == {
        "kind": "bool",
        "op": "and",
        "operands": (
            {
                "kind": "compare",
                "op": ">",
                "left": {"kind": "call", "func": "len", "args": (key("draft"),)},
                "right": lit(100),
            },
            {
                "kind": "not",
                "operand": {
                    "kind": "compare",
                    "op": "==",
                    "left": key("mode"),
                    "right": lit("fast"),
                },
            },
        ),
    }
    assert cond("a or b and c")["op"] == "or"
    assert cond("a or b and c")["operands"][1]["op"] == "and"
    assert cond("not a == b")["kind"] == "not"


def test_condition_literals_and_operators() -> None:
    assert cond('text contains "error"') == {
        "kind": "compare",
        "op": "contains",
        "left": key("text"),
        "right": lit("error"),
    }
    assert cond("draft") == key("draft")
    for op in ("==", "!=", "<", "<=", ">", ">="):
        assert cond(f"a {op} 1.5")["op"] == op
    assert cond("x == true")["right"] == lit(True)
    assert cond("x != null")["right"] == lit(None)
    assert cond("x > -2")["right"] == lit(-2)
    assert cond("a or b or c")["operands"] == (key("a"), key("b"), key("c"))
    assert cond("a or (b or c)")["operands"][1]["op"] == "or"


def test_transform_with_the_whole_context() -> None:
    p = parse_ok(
        "pipeline t { step a = transform pkg.mod:fn(*) -> k  step b = transform f(*, x) -> j }"
    )
    a, b = p.steps
    assert isinstance(a, ir.TransformStep) and isinstance(b, ir.TransformStep)
    assert (a.pass_context, a.reads) == (True, ())
    assert (b.pass_context, [r.name for r in b.reads]) == (True, ["x"])


def test_windows_line_endings_and_bom() -> None:
    from mmoc.driver import load_text  # the loader drops the BOM, the front end the \r

    text = '\ufeffpipeline t {\r\n  step s = llm m {\r\n    prompt """\r\n      a\r\n      b\r\n    """\r\n  }\r\n}\r\n'
    loaded = load_text(text, "t.mmo", ".mmo", checks=False)
    assert loaded.diagnostics == [] and loaded.pipeline is not None
    p = loaded.pipeline
    assert p.steps[0].prompt.value == "a\nb"  # type: ignore[union-attr]
    assert p.steps[0].name_span is not None and p.steps[0].name_span.line == 2


def test_llm_fields_are_the_grammars_field_rules() -> None:
    import re
    from importlib.resources import files

    from mmoc.frontends.mmo.parse import STATEMENTS
    from mmoc.frontends.mmo.transformer import LLM_FIELDS

    grammar = files("mmoc.grammar").joinpath("mmo.lark").read_text(encoding="utf-8")
    rules = set(re.findall(r"^(\w+)_field:", grammar, flags=re.MULTILINE))
    assert rules == set(LLM_FIELDS)
    assert {f"{name}_field" for name in rules} <= STATEMENTS  # comments attach to each field


def test_steps_keep_source_order_across_kinds() -> None:
    p = parse_ok(
        "pipeline t {\n  parallel g {\n    step a = llm m { prompt \"x\" } -> a\n  }\n"
        "  step b = transform upper(a) -> b\n  step c = llm m { prompt \"{b}\" } -> c\n"
        "  step d = transform lower(c) -> d\n}\n"
    )
    assert [s.name for s in p.steps] == ["g", "b", "c", "d"]
