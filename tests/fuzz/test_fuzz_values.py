"""Extreme values in valid pipelines: huge numbers in every numeric field, and long lines in
every place a line can be long, in both languages. `mmoc check` and `mmoc compile` must hold
the fuzz property (support.fuzz) on each.

A template holds every numeric field (or every long-line site) once, marked `@site@`; a case
replaces some marks with the extreme value and the others with an ordinary one.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.fuzz import assert_well_behaved, check_and_compile, fuzz_settings, long_run

MMO_NUMBERS = """\
pipeline numbers {
  version "1.0"
  input count: int = @input_int@
  input ratio: float = @input_float@
  input topic: str
  output notes, views, checked

  retry patient = exponential(max_retries: @max_retries@, base: @base@s, max: @max@s, multiplier: @multiplier@, jitter: full)
  retry quick = constant(max_retries: @quick_retries@, delay: @delay@s)
  breaker guard = breaker(failures: @failures@, recovery: @recovery@s, trials: @trials@)
  default timeout @default_timeout@s

  step research = llm mock/x?latency_ms=@latency@&fail_first=@fail_first@ {
    prompt "About {topic}, {count} times {ratio}"
    temperature @temperature@
    max_tokens @max_tokens@
    timeout @timeout@s
    retry patient
    breaker guard
    json schema {"type": "object", "properties": {"n": {"type": "number", "enum": [1, @schema@]}}}
  } -> notes

  step check = llm mock/z {
    prompt "Check {notes}"
    when count > @when@ and len(notes) < @when_len@
  } -> checked

  parallel views (concurrency: @concurrency@) {
    step a = llm mock/y { prompt "A {notes}" retry quick } -> a_out
    step b = llm mock/y {
      prompt "B {notes}"
      retry exponential(max_retries: @inline_retries@)
      breaker(failures: @inline_failures@)
    } -> b_out
  } -> views
}
"""
YAML_NUMBERS = """\
name: numbers
version: '1.0'
inputs:
  count: {type: int, default: @input_int@}
  ratio: {type: float, default: @input_float@}
  topic: str
outputs: [notes, views, checked]
retry_policies:
  patient: {max_retries: @max_retries@, base_delay_seconds: @base@, max_delay_seconds: @max@, multiplier: @multiplier@, jitter: full}
  quick: {max_retries: @quick_retries@, backoff: constant, base_delay_seconds: @delay@}
breaker_policies:
  guard: {failure_threshold: @failures@, recovery_timeout_seconds: @recovery@, half_open_max_calls: @trials@}
defaults:
  timeout_seconds: @default_timeout@
steps:
  - name: research
    model: mock/x?latency_ms=@latency@&fail_first=@fail_first@
    prompt: About {topic}, {count} times {ratio}
    temperature: @temperature@
    max_tokens: @max_tokens@
    timeout_seconds: @timeout@
    schema: {type: object, properties: {n: {type: number, enum: [1, @schema@]}}}
    output_key: notes
    retry: patient
    breaker: guard
  - name: check
    model: mock/z
    prompt: Check {notes}
    output_key: checked
    condition: count > @when@ and len(notes) < @when_len@
  - name: views
    type: parallel_group
    concurrency: @concurrency@
    output_key: views
    steps:
      - {name: a, model: mock/y, prompt: 'A {notes}', output_key: a_out, retry: quick}
      - name: b
        model: mock/y
        prompt: B {notes}
        output_key: b_out
        max_retries: @inline_retries@
        breaker: {failure_threshold: @inline_failures@}
"""
# An ordinary value for every numeric site (the template compiles cleanly with these).
ORDINARY = {
    "input_int": "3",
    "input_float": "0.5",
    "max_retries": "3",
    "base": "1",
    "max": "30",
    "multiplier": "2",
    "quick_retries": "1",
    "delay": "1",
    "failures": "5",
    "recovery": "60",
    "trials": "1",
    "default_timeout": "30",
    "latency": "5",
    "fail_first": "0",
    "temperature": "0.5",
    "max_tokens": "100",
    "timeout": "10",
    "schema": "2.5",
    "when": "2",
    "when_len": "7.5",
    "concurrency": "2",
    "inline_retries": "2",
    "inline_failures": "3",
}
# Numbers as .mmo writes them (digits, a sign, a decimal point): past int64, past a float's
# range, past Python's limit for converting digits to an int, and too small for a float.
HUGE_MMO = {
    "digits-30": "9" * 30,
    "digits-400": "9" * 400,
    "digits-5000": "9" * 5000,
    "negative-400": "-" + "9" * 400,
    "decimal-400": "1" + "0" * 400 + ".5",
    "tiny-400": "0." + "0" * 400 + "1",
}
# YAML's own spellings on top: exponents, infinities, NaN, hex and binary, YAML 1.1's
# base-60 integers and underscores.
HUGE_YAML = {
    **HUGE_MMO,
    "exponent": "1.0e+999",
    "negative-exponent": "-1.0e+999",
    "inf": ".inf",
    "negative-inf": "-.inf",
    "nan": ".nan",
    "hex-400": "0x" + "f" * 400,
    "binary-5000": "0b" + "1" * 5000,
    "sexagesimal": "1" + ":59" * 600,
    "underscores": "9_" * 2000 + "9",
}
TEMPLATES = {".mmo": (MMO_NUMBERS, HUGE_MMO), ".yaml": (YAML_NUMBERS, HUGE_YAML)}


def render(template: str, values: dict[str, str]) -> str:
    """`template` with each `@site@` replaced by its value (every mark must have one)."""
    text = re.sub(r"@([a-z_]+)@", lambda m: values[m.group(1)], template)
    return text


def numbers_source(suffix: str, sites: set[str], value: str) -> str:
    template, _ = TEMPLATES[suffix]
    return render(template, {s: value if s in sites else v for s, v in ORDINARY.items()})


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("values")


def _check(work: Path, suffix: str, text: str) -> None:
    source = work / f"values{suffix}"
    source.write_text(text, encoding="utf-8")
    for outcome in check_and_compile(source, work):
        assert_well_behaved(outcome)


@pytest.mark.parametrize("suffix", list(TEMPLATES))
def test_the_numbers_templates_compile_with_ordinary_values(suffix: str, work: Path) -> None:
    source = work / f"ordinary{suffix}"
    source.write_text(numbers_source(suffix, set(), ""), encoding="utf-8")
    for outcome in check_and_compile(source, work):
        assert outcome.code == 0, outcome.describe()
        assert "warning" not in outcome.out, outcome.describe()


NUMBER_CASES = [
    pytest.param(
        suffix,
        value,
        id=f"{suffix[1:]}-{name}",
    )
    for suffix, (_, values) in TEMPLATES.items()
    for name, value in values.items()
]


@pytest.mark.parametrize(("suffix", "value"), NUMBER_CASES)
def test_a_huge_number_in_every_numeric_field(suffix: str, value: str, work: Path) -> None:
    _check(work, suffix, numbers_source(suffix, set(ORDINARY), value))


@st.composite
def huge_number_cases(draw: st.DrawFn) -> tuple[str, str]:
    """Some numeric sites of one template, all set to one extreme value (a listed one, or
    random digits of any length up to past Python's conversion limit)."""
    suffix = draw(st.sampled_from(sorted(TEMPLATES)))
    _, listed = TEMPLATES[suffix]
    sites = draw(st.sets(st.sampled_from(sorted(ORDINARY)), min_size=1))
    digits = st.integers(1, 6000).map(lambda n: "9" * n)
    signed = st.tuples(st.sampled_from(["", "-"]), digits).map("".join)
    value = draw(st.one_of(st.sampled_from(sorted(listed.values())), signed))
    return suffix, numbers_source(suffix, sites, value)


@fuzz_settings(suite_examples=4, long_share=4)
@given(case=huge_number_cases())
def test_huge_numbers_in_some_numeric_fields(case: tuple[str, str], work: Path) -> None:
    suffix, text = case
    _check(work, suffix, text)


# ---- long lines -----------------------------------------------------------------------------

LONG = 200_000  # characters on the long line (a long run also draws other lengths)
MMO_LONG = """\
# @comment@
pipeline long_lines {
  description "@description@"
  input topic: str
  step @name@ = llm mock/@model@ {
    prompt "@prompt@ {topic}"
    stop ["@stop@"]
    when topic contains "@literal@"
  } -> @key@
}
"""
YAML_LONG = """\
# @comment@
name: long_lines
description: "@description@"
inputs: {topic: str}
steps:
  - name: @name@
    model: mock/@model@
    prompt: "@prompt@ {topic}"
    stop: ["@stop@"]
    condition: 'topic contains "@literal@"'
    schema: {type: object, properties: {@key@: {type: string, enum: ["@literal@"]}}}
    output_key: @key@
"""
LONG_TEMPLATES = {".mmo": MMO_LONG, ".yaml": YAML_LONG}
LONG_SITES = {
    "comment": ("x", "a comment"),
    "description": ("d", "a pipeline"),
    "name": ("s", "step"),
    "model": ("m", "model"),
    "prompt": ("p", "About"),
    "stop": ("z", "END"),
    "literal": ("l", "word"),
    "key": ("k", "answer"),
}
# Broken sources with one long line, each on its own (an error must still point at it).
LONG_BROKEN = {
    "mmo-unterminated-string": (".mmo", 'pipeline p {\n  description "@long@\n}\n'),
    "mmo-unknown-token": (".mmo", "pipeline p {\n  @long@\n}\n"),
    "mmo-open-braces": (".mmo", "pipeline p {\n" + "{" * 2000 + "@long@\n"),
    "yaml-unterminated-string": (".yaml", 'name: p\ndescription: "@long@\n'),
    "yaml-flow-sequence": (".yaml", "name: p\nsteps: [" + "[" * 2000 + "@long@\n"),
    "yaml-long-key": (".yaml", "name: p\n@long@: 1\n"),
}


def long_source(suffix: str, sites: set[str], length: int) -> str:
    values = {
        site: (char * length if site in sites else ordinary)
        for site, (char, ordinary) in LONG_SITES.items()
    }
    return render(LONG_TEMPLATES[suffix], values)


@pytest.mark.parametrize("suffix", list(LONG_TEMPLATES))
def test_the_long_line_templates_compile_with_ordinary_text(suffix: str, work: Path) -> None:
    source = work / f"short{suffix}"
    source.write_text(long_source(suffix, set(), 0), encoding="utf-8")
    for outcome in check_and_compile(source, work):
        assert outcome.code == 0, outcome.describe()


@pytest.mark.parametrize("suffix", list(LONG_TEMPLATES))
def test_a_long_line_in_every_place(suffix: str, work: Path) -> None:
    _check(work, suffix, long_source(suffix, set(LONG_SITES), LONG))


@pytest.mark.parametrize("case", list(LONG_BROKEN.values()), ids=list(LONG_BROKEN))
def test_a_long_line_in_a_broken_source(case: tuple[str, str], work: Path) -> None:
    suffix, text = case
    _check(work, suffix, text.replace("@long@", "w" * LONG))


@st.composite
def long_line_cases(draw: st.DrawFn) -> tuple[str, str]:
    suffix = draw(st.sampled_from(sorted(LONG_TEMPLATES)))
    sites = draw(st.sets(st.sampled_from(sorted(LONG_SITES)), min_size=1))
    length = draw(st.integers(1_000, 2_000_000 if long_run() else LONG))
    return suffix, long_source(suffix, sites, length)


@fuzz_settings(suite_examples=2, long_share=20)
@given(case=long_line_cases())
def test_long_lines_in_some_places(case: tuple[str, str], work: Path) -> None:
    suffix, text = case
    _check(work, suffix, text)
