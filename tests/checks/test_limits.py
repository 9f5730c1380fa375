"""The limits of mmoc.limits, end to end: what is within them checks clean and compiles, what
passes them is one diagnostic at its place from `mmoc check` and `mmoc compile` alike (exit 1,
file:line:col, no traceback, no MMO702); the checks apply the same bounds to the IR the
Python builder API hands them (huge numbers, deep or non-finite schemas)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from mmoc import ir
from mmoc.checks import run_checks
from mmoc.driver import compile_file, compile_pipeline
from mmoc.limits import MAX_NESTING, MAX_NUMBER

# ---- within the limits, everything compiles ----------------------------------------------------


def nested_schema(levels: int) -> dict[str, object]:
    """A JSON schema whose objects and lists nest exactly `levels` deep (built in a loop)."""
    schema: dict[str, object] = {"type": "string"}
    depth = 1
    while depth + 2 <= levels:
        schema = {"type": "object", "properties": {"k": schema}}
        depth += 2
    if depth < levels:
        schema = {"type": "array", "items": schema}
    return schema


def schema_of_depth(levels: int) -> str:
    return json.dumps(nested_schema(levels))


AT_THE_LIMIT = {
    "schema.mmo": "pipeline x {\n  parallel g {\n    step s = llm mock/echo {\n"
    f'      prompt "hi"\n      json schema {schema_of_depth(MAX_NESTING)}\n'
    "    } -> o\n  } -> all\n}\n",
    "schema.yaml": "name: x\nsteps:\n  - name: g\n    type: parallel_group\n    steps:\n"
    "      - {name: s, model: mock/echo, prompt: hi, output_key: o,"
    f" schema: {schema_of_depth(MAX_NESTING)}}}\n",
    "default.mmo": "pipeline x {\n  input a: json = " + "[" * MAX_NESTING + "1" + "]" * MAX_NESTING
    + '\n  step s = llm mock/echo { prompt "{a}" } -> o\n}\n',
    "default.yaml": "name: x\ninputs:\n  a:\n    type: json\n    default: "
    + "[" * MAX_NESTING + "1" + "]" * MAX_NESTING + "\nsteps:\n  - {name: s, model: mock/echo,"
    " prompt: '{a}'}\n",
    "condition.mmo": "pipeline x {\n  input a: int\n  step s = llm mock/echo {\n"
    '    prompt "{a}"\n    when ' + "not " * (MAX_NESTING - 1) + f"a < {MAX_NUMBER}\n"
    "  } -> o\n}\n",
    "numbers.mmo": "pipeline x {\n  input a: int = " + str(-MAX_NUMBER) + "\n"
    '  step s = llm mock/echo {\n    prompt "{a}"\n    when a > ' + str(MAX_NUMBER) + "\n"
    "  } -> o\n}\n",
}  # fmt: skip


@pytest.mark.parametrize("name", AT_THE_LIMIT)
def test_a_source_at_the_limits_checks_clean_and_compiles(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(AT_THE_LIMIT[name], encoding="utf-8")
    result = compile_file(path, format=False)
    assert [d for d in result.diagnostics if d.is_error] == [] and result.code is not None
    compile(result.code, name, "exec")  # Python's parser takes it (at most 200 brackets)


# ---- the checks bound what the builder API hands them ------------------------------------------


def llm_step(**fields: object) -> ir.LlmStep:
    return ir.LlmStep(name="s", model=ir.ModelRef(id="mock/echo"), prompt=ir.Text(value="hi"),
                      **fields)  # type: ignore[arg-type]


def built(*steps: ir.LlmStep, **fields: object) -> ir.Pipeline:
    return ir.Pipeline(name="x", steps=steps, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("schema", "reason"),
    [
        (nested_schema(100), f"more than {MAX_NESTING} levels deep"),
        (nested_schema(10_000), f"more than {MAX_NESTING} levels deep"),  # no RecursionError
        ({"type": "number", "enum": [float("nan")]}, "holds nan"),
        ({"type": "number", "enum": [1, float("-inf")]}, "holds -inf"),
        ({"type": "integer", "enum": [10**5000]}, "about 5,001 digits"),
    ],
    ids=["depth-100", "depth-10000", "nan", "-inf", "e5000"],
)
def test_a_schema_no_module_can_hold_is_mmo508(schema: dict[str, object], reason: str) -> None:
    p = built(llm_step(output=ir.OutputSpec(schema=schema)))
    found = [d for d in run_checks(p) if d.is_error]
    assert [d.code for d in found] == ["MMO508"] and reason in found[0].message
    result = compile_pipeline(p, source_path="x.py", source_text="", format=False)
    assert result.code is None and "MMO702" not in [d.code for d in result.diagnostics]


def test_a_schema_at_the_limit_passes_the_check() -> None:
    p = built(llm_step(output=ir.OutputSpec(schema=nested_schema(MAX_NESTING))))
    assert [d for d in run_checks(p) if d.is_error] == []


@pytest.mark.parametrize("number", [10**400, -(10**5000), 10**20], ids=["e400", "-e5000", "e20"])
def test_huge_numbers_from_the_builder_are_range_errors(number: int) -> None:
    p = built(
        llm_step(temperature=number, max_tokens=number, timeout=number,
                 retry=ir.RetryPolicy(max_retries=number, base_delay=number, max_delay=number,
                                      multiplier=number),
                 breaker=ir.BreakerPolicy(failure_threshold=number, recovery_timeout=number,
                                          half_open_max_calls=number)),
    )  # fmt: skip
    found = [d for d in run_checks(p) if d.is_error]
    assert {d.code for d in found} == {"MMO501", "MMO507"} and len(found) == 10
    assert all(" is " in d.message and "at most" in d.message for d in found), found


# ---- `mmoc check` and `mmoc compile` report each bomb at its place -----------------------------


def laughs() -> str:
    first = ", ".join(["lol"] * 9)
    lines = ["name: lol", "inputs:", f"  a0: {{type: json, default: &a0 [{first}]}}"]
    for i in range(1, 9):
        items = ", ".join([f"*a{i - 1}"] * 9)
        lines.append(f"  a{i}: {{type: json, default: &a{i} [{items}]}}")
    return "\n".join(lines) + "\nsteps:\n  - {name: s, model: mock/echo, prompt: '{a8}'}\n"


BOMBS = {
    "laughs.yaml": (laughs(), "MMO013", "laughs.yaml:7:"),
    "deep.yaml": ("name: x\nsteps: " + "[" * 990 + "]" * 990 + "\n", "MMO011", "deep.yaml:2:71"),
    "retries.yaml": ("name: x\nsteps:\n  - {name: s, model: mock/echo, prompt: hi, max_retries: "
                     + "9" * 309 + "}\n", "MMO010", "retries.yaml:3:58"),
    "tokens.mmo": ('pipeline x {\n  step s = llm mock/echo {\n    prompt "hi"\n    max_tokens '
                   + "1" + "0" * 4300 + "\n  } -> o\n}\n", "MMO010", "tokens.mmo:4:16"),
    "timeout.mmo": ('pipeline x {\n  step s = llm mock/echo {\n    prompt "hi"\n    timeout 1'
                    + "0" * 309 + "s\n  } -> o\n}\n", "MMO010", "timeout.mmo:4:13"),
    "nots.mmo": ("pipeline x {\n  input a: bool\n  step s = llm mock/echo {\n    prompt \"{a}\"\n"
                 "    when " + "not " * 5000 + "a\n  } -> o\n}\n", "MMO011", "nots.mmo:5:138"),
}  # fmt: skip


@pytest.mark.parametrize("command", ["check", "compile"])
def test_the_cli_reports_each_bomb_at_its_place(tmp_path: Path, command: str) -> None:
    for name, (text, _, _) in BOMBS.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    args = [sys.executable, "-m", "mmoc", command, *BOMBS]
    if command == "compile":
        args[4:4] = ["--out-dir", "out"]
    proc = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          check=False)  # each of these took 80 s or more, or crashed
    assert proc.returncode == 1, proc.stdout + proc.stderr
    output = proc.stdout + proc.stderr
    assert "Traceback" not in output and "MMO702" not in output
    for code, place in (spec[1:] for spec in BOMBS.values()):
        assert f"error[{code}]" in output and f"--> {place}" in output, (place, output)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
