"""Every field of the YAML schema, seed and extension, lands in the IR where it should."""

from __future__ import annotations

import textwrap

from mmoc import ir
from mmoc.frontends.yaml.parse import parse_yaml


def dump(node: object) -> object:
    """Meaning only: spans and positions are left out of `model_dump`, not out of `==`."""
    if isinstance(node, tuple):
        return tuple(dump(n) for n in node)
    return node.model_dump() if isinstance(node, ir.Node) else node


def parse(text: str) -> ir.Pipeline:
    p, diagnostics = parse_yaml(textwrap.dedent(text), "p.yaml")
    assert diagnostics == [], [d.message for d in diagnostics]
    assert p is not None
    return p


def test_seed_fields() -> None:
    p = parse(
        """
        name: demo
        version: "1.0"
        description: "A demo"
        steps:
          - name: research
            model: gemini-2.5-flash-lite
            prompt_template: "About {topic}"
            timeout_seconds: 60
            max_retries: 2
          - name: summarize
            step_type: llm
            model: gpt-4
            prompt: "Sum {research_output}"
            output_key: summary
            depends_on: research
            condition: "not_empty:research_output"
        """
    )
    assert (p.name, p.version, p.description) == ("demo", "1.0", "A demo")
    assert p.inputs_declared is False and p.inputs == ()
    research, summarize = p.steps
    assert isinstance(research, ir.LlmStep)
    assert research.output_key == "research_output"  # the seed's `<name>_output` default
    assert research.prompt.value == "About {topic}"
    assert research.timeout == 60
    assert dump(research.retry) == dump(ir.RetryPolicy(max_retries=2))
    assert isinstance(summarize, ir.LlmStep)
    assert summarize.model.id == "gpt-4" and summarize.output_key == "summary"
    assert [i.name for i in summarize.after] == ["research"]
    assert dump(summarize.when) == dump(ir.KeyExpr(name="research_output"))


def test_depends_on_list_and_after_alias() -> None:
    p = parse(
        """
        name: d
        steps:
          - {name: a, model: m, prompt: x}
          - {name: b, model: m, prompt: x}
          - {name: c, model: m, prompt: x, depends_on: [a, b]}
          - {name: e, model: m, prompt: x, after: c, when: "key_exists:c_output"}
        """
    )
    assert [i.name for i in p.steps[2].after] == ["a", "b"]
    assert [i.name for i in p.steps[3].after] == ["c"]
    assert isinstance(p.steps[3].when, ir.CallExpr)


def test_pipeline_extensions() -> None:
    p = parse(
        """
        name: ext
        inputs:
          topic: str
          depth: {type: int, default: 3}
          notes: null
          extra: {default: [1, "a", {k: true}]}
        outputs: [summary]
        models:
          fast: openai/gpt-4o-mini
        providers:
          local: {base_url: "http://127.0.0.1:8080/v1", api_key_env: LOCAL_KEY}
          other: {kind: openai-compatible, base_url: "http://x"}
        retry_policies:
          patient: {max_retries: 5, backoff: constant, base_delay_seconds: 500ms,
                    multiplier: 3, max_delay_seconds: 1m, jitter: full,
                    retry_on: [rate_limit, timeout]}
        breaker_policies:
          guard: {failure_threshold: 2, recovery_timeout_seconds: 30, half_open_max_calls: 2}
        defaults:
          retry: patient
          breaker: {failure_threshold: 9}
          timeout: 2s
        steps:
          - {name: summary_step, model: fast, prompt: "{topic}", output_key: summary}
        """
    )
    assert p.inputs_declared
    assert [(i.name, i.type, i.default, i.has_default) for i in p.inputs] == [
        ("topic", "str", None, False),
        ("depth", "int", 3, True),
        ("notes", None, None, False),
        ("extra", None, [1, "a", {"k": True}], True),
    ]
    assert [o.name for o in p.outputs] == ["summary"]
    assert dump(p.models) == dump(
        (ir.ModelAlias(name="fast", model=ir.ModelRef(id="openai/gpt-4o-mini")),)
    )
    local, other = p.providers
    assert (local.name, local.kind, local.base_url, local.api_key_env) == (
        "local", "openai-compatible", "http://127.0.0.1:8080/v1", "LOCAL_KEY",
    )  # fmt: skip
    assert other.api_key_env is None
    (patient,) = p.retry_policies
    assert patient.model_dump() == ir.RetryPolicy(
        name="patient", max_retries=5, backoff="constant", base_delay=0.5, multiplier=3,
        max_delay=60.0, jitter="full",
        retry_on=(ir.Ident(name="rate_limit"), ir.Ident(name="timeout")),
    ).model_dump()  # fmt: skip
    assert dump(p.breaker_policies) == dump(
        (
            ir.BreakerPolicy(
                name="guard", failure_threshold=2, recovery_timeout=30, half_open_max_calls=2
            ),
        )
    )
    assert dump(p.defaults.retry) == dump(ir.PolicyRef(name="patient"))
    assert dump(p.defaults.breaker) == dump(ir.BreakerPolicy(failure_threshold=9))
    assert p.defaults.timeout == 2.0


def test_inputs_as_a_list() -> None:
    p = parse("name: x\ninputs: [a, b]\nsteps: [{name: s, model: m, prompt: '{a}{b}'}]\n")
    assert p.inputs_declared and [i.name for i in p.inputs] == ["a", "b"]
    empty = parse("name: x\ninputs: []\nsteps: [{name: s, model: m, prompt: 'x'}]\n")
    assert empty.inputs_declared and empty.inputs == ()


def test_llm_extensions() -> None:
    p = parse(
        """
        name: x
        steps:
          - name: s
            model: openai/gpt-4o
            system: "You are terse."
            prompt: "Go"
            temperature: 0.2
            max_tokens: 100
            stop: ["END", "STOP"]
            retry: {max_retries: 1, jitter: true}
            fallback: [anthropic/claude-haiku-4-5, gemini-2.0-flash]
            breaker: guard
            json: true
          - name: t
            model: m
            prompt: "Go"
            retry: patient
            breaker: {recovery_timeout_seconds: 1.5}
            schema: {type: object, properties: {a: {type: string}}, required: [a]}
            stop: "\\n\\n"
            fallback: []
        """
    )
    s, t = p.steps
    assert isinstance(s, ir.LlmStep) and isinstance(t, ir.LlmStep)
    assert s.system is not None and s.system.value == "You are terse."
    assert (s.temperature, s.max_tokens, s.stop) == (0.2, 100, ("END", "STOP"))
    assert dump(s.retry) == dump(ir.RetryPolicy(max_retries=1, jitter="full"))
    assert s.fallback is not None
    assert [m.id for m in s.fallback] == ["anthropic/claude-haiku-4-5", "gemini-2.0-flash"]
    assert dump(s.breaker) == dump(ir.PolicyRef(name="guard"))
    assert dump(s.output) == dump(ir.OutputSpec())
    assert dump(t.retry) == dump(ir.PolicyRef(name="patient"))
    assert dump(t.breaker) == dump(ir.BreakerPolicy(recovery_timeout=1.5))
    assert t.output is not None and t.output.schema_ == {
        "type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"],
    }  # fmt: skip
    assert t.stop == ("\n\n",)
    assert t.fallback == ()  # given empty: kept so a check can say so


def test_json_false_means_plain_text() -> None:
    p = parse("name: x\nsteps: [{name: s, model: m, prompt: p, json: false}]\n")
    assert isinstance(p.steps[0], ir.LlmStep) and p.steps[0].output is None


def test_transform_and_group() -> None:
    p = parse(
        """
        name: x
        steps:
          - name: clean
            type: transform
            function: "mypkg.text:clean"
            reads: [doc]
            input_mapping: {lang: lang}
            pass_context: true
            timeout: 1.5
          - name: fan
            type: parallel_group
            concurrency: 2
            output_key: both
            sub_steps:
              - {name: a, model: m, prompt: "{clean_output}"}
              - {name: b, type: transform, function: upper, reads: clean_output}
              - {name: c, type: conditional, model: m, prompt: "x", condition: "equals:lang:en"}
          - name: plain_group
            type: parallel_group
            steps: [{name: d, model: m, prompt: "x"}]
        """
    )
    clean, fan, plain = p.steps
    assert isinstance(clean, ir.TransformStep)
    assert clean.function == "mypkg.text:clean"
    assert [i.name for i in clean.reads] == ["doc", "lang"]
    assert clean.pass_context and clean.timeout == 1.5 and clean.output_key == "clean_output"
    assert isinstance(fan, ir.GroupStep)
    assert (fan.concurrency, fan.output_key) == (2, "both")
    a, b, c = fan.steps
    assert isinstance(a, ir.LlmStep) and a.output_key == "a_output"
    assert isinstance(b, ir.TransformStep) and [i.name for i in b.reads] == ["clean_output"]
    assert isinstance(c, ir.LlmStep) and isinstance(c.when, ir.CompareExpr)
    assert isinstance(plain, ir.GroupStep) and plain.output_key == "plain_group_output"  # the seed default
    assert [s.name for s in p.all_steps()] == ["clean", "fan", "a", "b", "c", "plain_group", "d"]


def test_llm_input_mapping_renames_placeholders() -> None:
    text = textwrap.dedent(
        """\
        name: x
        steps:
          - name: s
            model: m
            prompt: "Say {q} and {other} and {q}"
            system: "About {q}"
            input_mapping: {q: question_text}
        """
    )
    p, diagnostics = parse_yaml(text, "p.yaml")
    assert diagnostics == [] and p is not None
    step = p.steps[0]
    assert isinstance(step, ir.LlmStep) and step.system is not None
    assert step.prompt.value == "Say {question_text} and {other} and {question_text}"
    assert step.system.value == "About {question_text}"
    positions = step.prompt.positions
    assert positions is not None and len(positions) == len(step.prompt.value)
    # The rewritten placeholder still points at `{q}` in the source (line 5, column 18).
    assert positions[step.prompt.value.index("{question_text}")] == (5, 18)
    assert positions[step.prompt.value.index("{other}")] == (5, 26)


def test_durations_and_version_numbers() -> None:
    p = parse(
        """
        name: x
        version: 2.0
        steps:
          - {name: a, model: m, prompt: x, timeout_seconds: 500ms}
          - {name: b, model: m, prompt: x, timeout: 1h}
          - {name: c, model: m, prompt: x, timeout: 2.5}
        """
    )
    assert p.version == "2.0"  # as written, not the float 2.0
    assert [s.timeout for s in p.steps] == [0.5, 3600.0, 2.5]


def test_merge_keys_and_anchors() -> None:
    p = parse(
        """
        name: x
        steps:
          - &base {name: a, model: openai/gpt-4o, prompt: "one", temperature: 0.5}
          - <<: *base
            name: b
            prompt: "two"
        """
    )
    a, b = p.steps
    assert isinstance(b, ir.LlmStep) and isinstance(a, ir.LlmStep)
    assert (b.name, b.model.id, b.prompt.value, b.temperature) == ("b", "openai/gpt-4o", "two", 0.5)
