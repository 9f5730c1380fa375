"""Models, providers, endpoints, policies, step values, conditions and transforms."""

from __future__ import annotations

import pytest
from mmoc.diagnostics.model import Diagnostic
from mmoc.driver import load_text


def mmo(body: str) -> list[Diagnostic]:
    result = load_text("pipeline demo {\n  input topic\n" + body + "}\n", "t.mmo", ".mmo")
    assert result.pipeline is not None, [d.message for d in result.diagnostics]
    return result.diagnostics


def yaml(text: str) -> list[Diagnostic]:
    result = load_text(text, "t.yaml", ".yaml")
    assert result.pipeline is not None, [d.message for d in result.diagnostics]
    return result.diagnostics


def llm(model: str = "openai/gpt-4o-mini", extra: str = "") -> str:
    return f'  step a = llm {model} {{\n    prompt "About {{topic}}"\n{extra}  }} -> notes\n'


def only(found: list[Diagnostic], code: str) -> list[Diagnostic]:
    return [d for d in found if d.code == code]


@pytest.mark.parametrize("model", ["openai/gpt-4o-mini", "gpt-4o-mini", "gemini-2.5-flash-lite",
                                   "mock/anything?latency=0.1", "ollama/llama3.2",
                                   "anthropic/claude-3-5-haiku-20241022"])
def test_known_models_are_clean(model: str) -> None:
    assert mmo(llm(model)) == []


def test_unknown_catalogued_model_is_a_warning_with_suggestion() -> None:
    (d,) = mmo(llm("openai/gpt-4o-mni"))
    assert (d.code, d.level) == ("MMO401", "warning")
    assert "`openai/gpt-4o-mni`" in d.message and "`a`" in d.message
    assert d.help == "did you mean `openai/gpt-4o-mini`?"
    assert (d.span.line, d.span.column) == (3, 16)


def test_model_under_the_wrong_provider_names_the_right_one() -> None:
    (d,) = mmo(llm("openai/claude-3-haiku"))
    assert d.code == "MMO401" and "anthropic/claude-3-haiku" in (d.help or "")


@pytest.mark.parametrize("name", ["gemini-2.5-flash-lit", "model-a", "llama3"])
def test_bare_name_outside_the_catalog_is_a_warning(name: str) -> None:
    # Issue 3: an unknown model id is a warning with "did you mean" from the catalog.
    (d,) = mmo(llm(name))
    assert (d.code, d.level) == ("MMO401", "warning")
    if name == "gemini-2.5-flash-lit":
        assert "did you mean `gemini-2.5-flash-lite`?" in (d.help or "")


def test_unknown_provider_is_an_error_with_suggestion() -> None:
    (d,) = mmo(llm("anthropc/claude-3-haiku"))
    assert (d.code, d.level) == ("MMO402", "error")
    assert "`anthropc`" in d.message and d.help == "did you mean `anthropic`?"


def test_declared_endpoint_is_a_provider() -> None:
    text = """name: demo
providers:
  local: {kind: openai-compatible, base_url: "http://127.0.0.1:8000/v1"}
steps:
  - name: a
    model: local/llama3
    prompt: "{topic}"
"""
    assert yaml(text) == []
    bad = text.replace("http://127.0.0.1:8000/v1", "ftp://x")
    (d,) = only(yaml(bad), "MMO404")
    assert "`local`" in d.message and "ftp://x" in d.message


def test_malformed_id_and_bad_query() -> None:
    for model in ('"openai/"', '"/gpt-4o"', '"mock/x?=1"'):
        text = f"name: demo\nsteps:\n  - name: a\n    model: {model}\n    prompt: hi\n"
        (d,) = yaml(text)
        assert d.code == "MMO403", model


def test_alias_resolves_and_is_judged_once() -> None:
    assert mmo("  model fast = openai/gpt-4o-mini\n" + llm("fast")) == []
    found = mmo("  model fast = opnai/gpt-4o-mini\n" + llm("fast") + llm("fast").replace(
        "step a", "step b").replace("notes", "more"))
    assert [d.code for d in found] == ["MMO402"]
    assert found[0].span.line == 3


def test_retry_policy_values() -> None:
    found = mmo("  retry r = exponential(max_retries: -1, base: 10s, max: 1s, jitter: half)\n"
                + llm(extra="    retry r\n"))
    kinds = sorted(d.code for d in found)
    assert kinds == ["MMO501", "MMO501", "MMO506"]
    messages = " ".join(d.message for d in found)
    assert "max_retries" in messages and "`r`" in messages and "below its base" in messages


def test_absurd_retry_count() -> None:
    (d,) = mmo(llm(extra="    retry exponential(max_retries: 100000)\n"))
    assert d.code == "MMO501" and "100000" in d.message


def test_unknown_retry_kind_and_backoff_in_yaml() -> None:
    text = """name: demo
steps:
  - name: a
    model: openai/gpt-4o-mini
    prompt: "{topic}"
    retry: {backoff: linear, retry_on: [timeout, rate_limits]}
"""
    found = yaml(text)
    assert sorted(d.code for d in found) == ["MMO505", "MMO506"]
    (kind,) = only(found, "MMO505")
    assert "`rate_limits`" in kind.message and kind.help == "did you mean `rate_limit`?"


def test_breaker_threshold_below_one() -> None:
    (d,) = mmo("  breaker b = breaker(failures: 0, recovery: 30s)\n" + llm(extra="    breaker b\n"))
    assert d.code == "MMO501" and "failure threshold" in d.message and "`b`" in d.message


def test_unknown_policy_refs() -> None:
    found = mmo("  retry patient = exponential(max_retries: 2)\n"
                + llm(extra="    retry patent\n    breaker guard\n"))
    assert [d.code for d in found] == ["MMO502", "MMO502"]
    assert found[0].help == "did you mean `patient`?"
    assert "`guard`" in found[1].message


def test_unknown_default_policy_ref() -> None:
    (d,) = mmo("  default retry nope\n" + llm())
    assert d.code == "MMO502" and "pipeline default" in d.message


def test_fallbacks() -> None:
    (d,) = mmo(llm(extra="    fallback []\n"))
    assert d.code == "MMO503"
    (d,) = mmo(llm(extra="    fallback [gpt-4o-mini]\n"))  # the bare name of the primary
    assert d.code == "MMO504" and "`a`" in d.message
    assert mmo(llm(extra="    fallback [anthropic/claude-haiku-4-5]\n")) == []


@pytest.mark.parametrize("field", ["temperature 2.5", "temperature -1", "max_tokens 0",
                                   "timeout 0s"])
def test_step_values_out_of_range(field: str) -> None:
    (d,) = mmo(llm(extra=f"    {field}\n"))
    assert d.code == "MMO507" and "`a`" in d.message


def test_group_concurrency() -> None:
    body = ("  parallel g (concurrency: 0) {\n" + llm() + llm().replace("step a", "step b")
            .replace("notes", "more") + "  } -> both\n")
    (d,) = mmo(body)
    assert d.code == "MMO507" and "`g`" in d.message


def test_output_schema() -> None:
    (d,) = mmo(llm(extra='    json schema {"type": "object", "propertys": {}}\n'))
    assert d.code == "MMO508" and "propertys" in d.message
    assert mmo(llm(extra='    json schema {"type": "object", "properties": '
                         '{"a": {"type": "string"}}, "required": ["a"]}\n')) == []


def test_conditions() -> None:
    (d,) = mmo(llm(extra="    when size(topic) > 1\n"))
    assert d.code == "MMO603" and "size" in d.message
    (d,) = mmo(llm(extra="    when len(subject) > 1\n"))
    assert d.code == "MMO601" and "`subject`" in d.message and "`a`" in d.message
    assert (d.span.line, d.span.column) == (5, 14)
    assert mmo(llm(extra='    when exists(topic) and not topic contains "x"\n')) == []


def test_condition_on_own_output_is_a_cycle() -> None:
    found = mmo(llm(extra="    when len(notes) > 1\n"))
    assert [d.code for d in found] == ["MMO201"]


def test_transforms() -> None:
    assert mmo("  step t = transform upper(topic) -> loud\n") == []
    assert mmo("  step t = transform my_pkg.text:shout(topic) -> loud\n") == []
    (d,) = mmo("  step t = transform upcase(topic) -> loud\n")
    assert d.code == "MMO602" and "`upcase`" in d.message and "`t`" in d.message
    (d,) = mmo("  step t = transform my-pkg:1fn(topic) -> loud\n".replace("my-pkg", "pkg.")
               )
    assert d.code == "MMO602"
