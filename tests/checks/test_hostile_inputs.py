"""Hostile inputs: the checks and lowering stay linear (asserted by counting work, never by
timing; bench/bench_hostile.py has the timings), and names are compared as Python reads
them (NFKC), so look-alike names are duplicates reported at both places."""

from __future__ import annotations

import difflib
import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mmoc import analysis, ir
from mmoc.checks import run_checks, support
from mmoc.codegen.lower import lower
from mmoc.diagnostics.model import Diagnostic
from mmoc.driver import compile_file, load_text
from mmoc_runtime.template import parse_template


def load(text: str, suffix: str = ".yaml") -> list[Diagnostic]:
    return load_text(text, f"t{suffix}", suffix).diagnostics


def pipeline(text: str, suffix: str = ".mmo") -> ir.Pipeline:
    loaded = load_text(text, f"t{suffix}", suffix, checks=False)
    assert loaded.pipeline is not None, loaded.diagnostics
    return loaded.pipeline


def only(found: list[Diagnostic], code: str) -> list[Diagnostic]:
    return [d for d in found if d.code == code]


# ---- names as Python reads them --------------------------------------------------------


def test_fullwidth_step_name_is_a_duplicate_of_its_ascii_twin() -> None:
    found = load(
        "name: d\nsteps:\n"
        "  - {name: s, model: mock/m, prompt: p, output_key: a}\n"
        "  - {name: ｓ, model: mock/m, prompt: p, output_key: b}\n"
    )
    (d,) = only(found, "MMO101")
    assert "`ｓ`" in d.message and "Python reads `ｓ` and `s` both as `s`" in d.message
    assert d.span is not None and d.span.line == 4 and d.label == "defined again here"
    (first,) = d.labels
    assert first.span.line == 3 and first.message == "first defined here"


def test_look_alike_output_keys_are_one_key() -> None:
    found = load(
        "name: d\nsteps:\n"
        "  - {name: a, model: mock/m, prompt: p, output_key: k}\n"
        "  - {name: b, model: mock/m, prompt: p, output_key: ｋ}\n"
    )
    (d,) = only(found, "MMO102")
    assert "`a`" in d.message and "`b`" in d.message and "both as `k`" in d.message
    assert d.span is not None and d.span.line == 4 and d.labels[0].span.line == 3


def test_look_alike_inputs_are_defined_twice() -> None:
    found = load(
        "name: d\ninputs:\n  topic: str\n  ｔｏｐｉｃ: str\n"
        "steps:\n  - {name: a, model: mock/m, prompt: '{topic}'}\n"
    )
    (d,) = only(found, "MMO107")
    assert "input `ｔｏｐｉｃ` is defined twice" in d.message and "both as `topic`" in d.message
    assert d.span is not None and d.span.line == 4 and d.labels[0].span.line == 3


def test_output_key_that_reads_as_an_input_shadows_it() -> None:
    found = load(
        "name: d\ninputs: [topic]\n"
        "steps:\n  - {name: a, model: mock/m, prompt: '{topic}', output_key: ｔｏｐｉｃ}\n"
    )
    (d,) = only(found, "MMO103")
    assert "both as `topic`" in d.message
    assert d.labels[0].span.line == 2


def test_look_alike_outputs_are_listed_twice_with_both_places() -> None:
    found = load(
        "name: d\noutputs: [summary, ｓｕｍｍａｒｙ]\n"
        "steps:\n  - {name: a, model: mock/m, prompt: p, output_key: summary}\n"
    )
    (d,) = only(found, "MMO107")
    assert "output `ｓｕｍｍａｒｙ` is listed twice" in d.message
    assert d.label == "listed again here" and d.labels[0].message == "first listed here"


def test_look_alike_policy_names_are_defined_twice() -> None:
    found = load(
        "name: d\nretry_policies:\n  patient: {max_retries: 2}\n  ｐａｔｉｅｎｔ: {max_retries: 3}\n"
        "steps:\n  - {name: a, model: mock/m, prompt: p, retry: patient}\n"
    )
    (d,) = only(found, "MMO107")
    assert "retry policy `ｐａｔｉｅｎｔ` is defined twice" in d.message


def test_input_reading_as_a_runtime_name_never_reaches_codegen(tmp_path: Path) -> None:
    # `ｔｒａｎｓｆｏｒｍｓ` is `transforms` to Python: as a wrapper parameter it would shadow
    # the module's `transforms` helper. The check refuses it, so nothing is generated.
    source = tmp_path / "p.yaml"
    source.write_text(
        "name: d\ninputs: [ｔｒａｎｓｆｏｒｍｓ]\nsteps:\n"
        "  - {name: up, type: transform, function: upper, reads: [ｔｒａｎｓｆｏｒｍｓ]}\n",
        encoding="utf-8",
    )
    result = compile_file(source)
    assert result.code is None
    errors = [d for d in result.diagnostics if d.is_error]
    assert errors and all(d.code != "MMO702" for d in errors)
    assert any("`ｔｒａｎｓｆｏｒｍｓ`" in d.message and "`transforms`" in d.message for d in errors)


# ---- linear work -----------------------------------------------------------------------


def test_did_you_mean_work_is_bounded_per_run(monkeypatch: pytest.MonkeyPatch) -> None:
    # 400 unknown keys among 400 produced ones: one difflib search per miss would compare
    # 160,000 pairs of names; the run's budget caps the compared characters.
    n = 400
    steps = "".join(
        f'  step s{i} = llm mock/m {{ prompt "{{unknown_key_{i}}}" }} -> produced_key_{i}\n'
        for i in range(n)
    )
    p = pipeline("pipeline d {\n  input topic\n" + steps + "}\n")
    spent: list[int] = []
    real = difflib.get_close_matches

    def counting(word: str, candidates: list[str], **kw: Any) -> list[str]:
        spent.append(len(word) * sum(len(c) for c in candidates))
        return real(word, candidates, **kw)

    monkeypatch.setattr(support, "SUGGEST_BUDGET", 200_000, raising=False)
    monkeypatch.setattr(support.difflib, "get_close_matches", counting)
    found = run_checks(p)
    assert len(only(found, "MMO301")) == n
    assert 0 < sum(spent) <= 200_000
    assert len(spent) < n  # the later misses were not searched at all


def test_template_parse_scans_each_character_a_bounded_number_of_times() -> None:
    scanned = [0]

    class Counting(str):
        def find(self, sub: str, start: Any = None, end: Any = None) -> int:  # type: ignore[override]
            found = str.find(self, sub, start, end)
            scanned[0] += (found if found != -1 else len(self)) - (start or 0)
            return found

    text = Counting("{a " * 3000)  # 3,000 unclosed `{`, no `}` anywhere
    parsed = parse_template(text)
    assert len(parsed.problems) == 3000
    assert scanned[0] <= 4 * len(text)


def test_template_parse_still_pairs_braces_after_a_cached_close() -> None:
    parsed = parse_template("{a {b} {c} x} {{d}} {e")
    assert [p.name for p in parsed.parts if not isinstance(p, str)] == ["b", "c"]
    assert [(p.start, p.end) for p in parsed.problems] == [(0, 1), (12, 13), (20, 21)]


def test_checks_run_with_the_cyclic_collector_paused() -> None:
    seen: list[bool] = []

    def probe(p: ir.Pipeline) -> Iterator[Diagnostic]:
        seen.append(gc.isenabled())
        return iter(())

    was = gc.isenabled()
    run_checks(pipeline('pipeline d { step a = llm mock/m { prompt "p" } -> k }\n'), [probe])
    assert seen == [False]
    assert gc.isenabled() == was


class CountingTuple(tuple):  # type: ignore[type-arg]
    """A tuple that counts how often it is walked."""

    walks = 0

    def __iter__(self) -> Iterator[Any]:
        CountingTuple.walks += 1
        return super().__iter__()

    def __reversed__(self) -> Iterator[Any]:
        CountingTuple.walks += 1
        return iter(self[::-1])


@pytest.fixture
def walks() -> Iterator[None]:
    CountingTuple.walks = 0
    yield


def test_model_aliases_and_policies_are_indexed_once(walks: None) -> None:
    p = pipeline(
        "pipeline d {\n  model fast = openai/gpt-4o-mini\n"
        "  retry patient = exponential(max_retries: 3)\n"
        '  step a = llm fast { prompt "p"\n    retry patient\n  } -> k\n}\n'
    )
    p = p.model_copy(update={"models": CountingTuple(p.models),
                             "retry_policies": CountingTuple(p.retry_policies)})
    step = p.steps[0]
    with analysis.memoized():
        for _ in range(50):
            assert analysis.resolve_model(p, "fast") == "openai/gpt-4o-mini"
            retry = analysis.resolve_retry(p, step)
            assert retry is not None and retry.max_retries == 3
    assert CountingTuple.walks == 2  # one walk per table, not one per question


def test_lowering_reads_the_declared_inputs_once(walks: None) -> None:
    n = 60
    inputs = "".join(f"  input i{k}\n" for k in range(n))
    reads = " ".join(f"{{i{k}}}" for k in range(n))
    p = pipeline(f'pipeline d {{\n{inputs}  step a = llm mock/m {{ prompt "{reads}" }} -> k\n}}\n')
    p = p.model_copy(update={"inputs": CountingTuple(p.inputs)})
    view, problems = lower(p, source_path="t.mmo", source_text="")
    assert view is not None, problems
    assert CountingTuple.walks < 10  # was one walk per input (quadratic)


def test_front_ends_run_with_the_cyclic_collector_paused(monkeypatch: pytest.MonkeyPatch) -> None:
    from mmoc import driver as loader

    seen: list[bool] = []

    def probe(text: str, display: str) -> tuple[None, list[Diagnostic]]:
        seen.append(gc.isenabled())
        return None, []

    monkeypatch.setattr(loader, "_front_end", lambda suffix: probe)
    was = gc.isenabled()
    loader.load_text("name: d\n", "t.yaml", ".yaml")
    assert seen == [False]  # the YAML front end ran with it on: 20,000 steps 5 s, not 3
    assert gc.isenabled() == was


def test_help_lines_list_a_bounded_number_of_defined_names() -> None:
    # Every unknown reference listed every defined policy: 3,000 of each printed 178 MB of JSON.
    policies = "".join(f"  retry policy_{i} = constant(max_retries: 1)\n" for i in range(50))
    found = load_text(
        "pipeline d {\n" + policies
        + '  step a = llm mock/m {\n    prompt "p"\n    retry zzz\n  } -> k\n}\n',
        "t.mmo", ".mmo",
    ).diagnostics
    (d,) = only(found, "MMO502")
    assert d.help == (
        "defined: " + ", ".join(f"policy_{i}" for i in range(10)) + ", ... (and 40 more)"
    )
