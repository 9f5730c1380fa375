"""The `cache` setting in both languages: its forms, the twins, `fmt`/`convert`, and the
diagnostics for a bad form (MMO840), a ttl out of range (MMO841) or a misplaced one."""

from __future__ import annotations

import pytest
from mmoc import ir
from mmoc.diagnostics.model import Diagnostic
from mmoc.driver import load_text
from mmoc.frontends.mmo.printer import print_mmo
from mmoc.frontends.yaml.printer import print_yaml


def load(text: str, suffix: str) -> tuple[ir.Pipeline | None, list[Diagnostic]]:
    result = load_text(text, f"p{suffix}", suffix)
    return result.pipeline, result.diagnostics


def mmo(fields: str, default: str = "") -> str:
    return (f"pipeline p {{\n{default}\n  step a = llm openai/gpt-4o-mini {{\n"
            f"    prompt \"Hi\"\n{fields}\n  }} -> a\n}}\n")


def yaml(cache: str, default: str = "") -> str:
    head = f"defaults:\n  cache: {default}\n" if default else ""
    return (f"name: p\n{head}steps:\n  - name: a\n    model: openai/gpt-4o-mini\n"
            f"    prompt: Hi\n    output_key: a\n" + (f"    cache: {cache}\n" if cache else ""))


def codes(found: list[Diagnostic]) -> list[str]:
    return [d.code for d in found]


@pytest.mark.parametrize(("mmo_field", "yaml_value", "policy"), [
    ("cache ttl: 1h", "{ttl: 1h}", ir.CachePolicy(ttl=3600.0)),
    ("cache ttl: 90s", "{ttl_seconds: 90}", ir.CachePolicy(ttl=90.0)),
    ("cache on", "true", ir.CachePolicy()),
    ("cache off", "false", ir.CachePolicy(enabled=False)),
])
def test_each_form_reads_the_same_in_both_languages(mmo_field: str, yaml_value: str,
                                                     policy: ir.CachePolicy) -> None:
    from_mmo, found = load(mmo(f"    {mmo_field}"), ".mmo")
    assert found == [] and from_mmo is not None
    from_yaml, found = load(yaml(yaml_value), ".yaml")
    assert found == [] and from_yaml is not None
    step = from_mmo.steps[0]
    assert isinstance(step, ir.LlmStep) and step.cache is not None
    assert step.cache.model_dump() == policy.model_dump()
    assert from_mmo.model_dump() == from_yaml.model_dump()


def test_the_default_reads_the_same_in_both_languages_and_round_trips() -> None:
    from_mmo, _ = load(mmo("    cache off", default="  default cache ttl: 30m"), ".mmo")
    from_yaml, _ = load(yaml("false", default="{ttl: 30m}"), ".yaml")
    assert from_mmo is not None and from_yaml is not None
    assert from_mmo.defaults.cache is not None and from_mmo.defaults.cache.ttl == 1800.0
    assert from_mmo.model_dump() == from_yaml.model_dump()
    printed = print_mmo(from_mmo)
    assert "  default cache ttl: 30m\n" in printed and "    cache off\n" in printed
    again, found = load(printed, ".mmo")
    assert found == [] and again is not None and again.model_dump() == from_mmo.model_dump()
    as_yaml = print_yaml(from_mmo)
    assert "cache:\n    ttl_seconds: 1800.0" in as_yaml and "cache: false" in as_yaml
    back, found = load(as_yaml, ".yaml")
    assert found == [] and back is not None and back.model_dump() == from_mmo.model_dump()


@pytest.mark.parametrize(("field", "message"), [
    ("cache forever", "`cache forever` is not a cache setting"),
    ("cache ttl", "`cache ttl` needs a duration"),
    ("cache on: 1h", "`cache on:` is not a cache setting"),
])
def test_a_bad_mmo_form_is_mmo840(field: str, message: str) -> None:
    _, found = load(mmo(f"    {field}"), ".mmo")
    assert codes(found) == ["MMO840"] and found[0].message == message
    assert found[0].span is not None and found[0].span.line == 5


@pytest.mark.parametrize(("value", "code", "message"), [
    ("forever", "MMO840", "`cache` of step `a` must be true, false or {ttl: DURATION}"),
    ("{}", "MMO840", "`cache` of step `a` gives no `ttl`"),
    ("{ttl: soon}", "MMO008", "'soon' is not a duration"),
    ("{tll: 1h}", "MMO004", "tll"),
])
def test_a_bad_yaml_form_is_reported(value: str, code: str, message: str) -> None:
    _, found = load(yaml(value), ".yaml")
    assert code in codes(found)
    assert any(message in d.message for d in found if d.code == code), found


@pytest.mark.parametrize(("ttl", "ok"), [("1ms", True), ("8760h", True), ("8761h", False),
                                         ("0s", False)])
def test_the_ttl_is_greater_than_zero_and_at_most_a_year(ttl: str, ok: bool) -> None:
    _, found = load(mmo(f"    cache ttl: {ttl}"), ".mmo")
    assert codes(found) == ([] if ok else ["MMO841"])
    _, found = load(mmo("", default=f"  default cache ttl: {ttl}"), ".mmo")
    assert codes(found) == ([] if ok else ["MMO841"])
    if not ok:
        assert "the cache ttl of the pipeline default" in found[0].message


def test_a_transform_step_or_group_takes_no_cache_setting() -> None:
    text = ("pipeline p {\n  input x: str\n  step t = transform upper(x) {\n    cache on\n"
            "  } -> y\n}\n")
    _, found = load(text, ".mmo")
    assert codes(found) == ["MMO004"] and "`cache` is not a field of a transform" in (
        found[0].message)
    yaml_text = ("name: p\nsteps:\n  - name: t\n    type: transform\n    function: upper\n"
                 "    reads: [x]\n    output_key: y\n    cache: true\n")
    _, found = load(yaml_text, ".yaml")
    assert "MMO004" in codes(found)


def test_cache_is_still_a_name_where_a_name_is_expected() -> None:
    text = ("pipeline p {\n  input cache: str\n  step cache = llm openai/gpt-4o-mini {\n"
            "    prompt \"Hi {cache}\"\n    when cache == \"x\"\n    cache on\n  } -> out\n}\n")
    pipeline, found = load(text, ".mmo")
    assert found == [] and pipeline is not None
    assert pipeline.steps[0].name == "cache"
