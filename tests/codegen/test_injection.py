"""Hostile sources: names and text that try to break out of strings or inject statements.

Each one either stops at a diagnostic or compiles to inert data: the text comes back
unchanged as a string constant, and running the module does nothing but the pipeline.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import black
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mmoc import ir
from mmoc.codegen.expressions import literal
from mmoc.codegen.lower import lower
from mmoc.codegen.names import NameAllocator
from mmoc.codegen.views import docstring_literal
from mmoc.driver import compile_file, compile_pipeline
from mmoc.modules import load_module

PAYLOADS = (
    '"""); __import__("os").system("touch PWNED") #',
    "'''); __import__('os').system('touch PWNED') #",
    "\\\"); open('PWNED', 'w') #",
    "line\nimport os; os.system('touch PWNED')\n",
    "\r\n__import__('os').system('touch PWNED')\r",
    "\\N{BULLET} \\x41 \\u0041 \\ \\\\ trailing backslash \\",
    "\u2028\u2029\x0c\x0b\x00 nul and separators",
    "{{}} {{x}} }}{{ non-ASCII é ✓ 日本語 🚀",
)
ALLOWED_IMPORTS = {
    "__future__",
    "asyncio",
    "sys",
    "collections.abc",
    "typing",
    "mmoc_runtime",
}


def _pipeline(text: str, *, name: str = "greet", key: str = "greeting") -> ir.Pipeline:
    return ir.Pipeline(
        name="hostile",
        version=text,
        description=text,
        inputs_declared=True,
        inputs=(ir.Input(name="who", type="str", default=text, has_default=True),),
        steps=(
            ir.LlmStep(
                name=name,
                model=ir.ModelRef(id="mock/x"),
                prompt=ir.Text(value=text.replace("{", "{{").replace("}", "}}") + " {who}"),
                system=ir.Text(value=text.replace("{", "{{").replace("}", "}}")),
                stop=(text,),
                output_key=key,
                when=ir.CompareExpr(
                    op="!=", left=ir.KeyExpr(name="who"), right=ir.LiteralExpr(value=text)
                ),
                output=ir.OutputSpec(
                    schema={
                        "type": "object",
                        "description": text,
                        "properties": {text: {"type": "string"}},
                    }
                ),
            ),
        ),
    )


def _assert_inert(code: str) -> None:
    tree = ast.parse(code)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert {a.name for a in node.names} <= ALLOWED_IMPORTS
        elif isinstance(node, ast.ImportFrom):
            assert node.module in ALLOWED_IMPORTS
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in {"__import__", "exec", "eval", "compile"}
        elif isinstance(node, ast.Attribute):
            assert node.attr != "system"


def test_payloads_in_text_stay_data(tmp_path: Path) -> None:
    for i, text in enumerate(PAYLOADS):
        p = _pipeline(text)
        result = compile_pipeline(p, source_path=f"hostile_{i}.mmo", source_text=text)
        assert result.ok and result.code is not None, result.diagnostics
        _assert_inert(result.code)
        module = load_module(result.code, f"mmoc_hostile_{i}")
        step = module.PIPELINE.steps[0]
        assert module.PIPELINE.description == text and module.PIPELINE.version == text
        assert step.system == p.steps[0].system.value and step.stop == (text,)
        assert step.prompt == p.steps[0].prompt.value
        assert step.output_format.schema["properties"] == {text: {"type": "string"}}
        assert module.PIPELINE.inputs[0].default == text
        assert step.when({"who": text}) is False and step.when({"who": "x"}) is True
    assert not (tmp_path / "PWNED").exists() and not Path("PWNED").exists()


def test_generated_script_runs_without_side_effects(tmp_path: Path) -> None:
    p = _pipeline(PAYLOADS[0])
    result = compile_pipeline(p, source_path="hostile.mmo", source_text="x")
    assert result.code is not None
    script = tmp_path / "hostile_gen.py"
    script.write_text(result.code, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(script), "-i", "who=someone", "--mock"],
        check=False,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert list(tmp_path.iterdir()) == [script]


HOSTILE_PATHS = (
    "evil\nimport os; os.system('touch PWNED')\n#.mmo",
    "coding:utf-7 x.mmo",
    "d/# -*- coding: latin-1 -*-/p.mmo",
    "a\r\x0c\x0b\x00\x85\u2028\u2029\u202e.mmo",
    "a\"\"\"b'''c\\d # é ✓ 日本語 🚀.mmo",
    "lone surrogate \udcff.mmo",
)


def test_hostile_source_path_cannot_reach_the_first_two_lines() -> None:
    for i, path in enumerate(HOSTILE_PATHS):
        result = compile_pipeline(_pipeline("x"), source_path=path, source_text="x")
        assert result.code is not None, result.diagnostics
        lines = result.code.split("\n")
        assert lines[:2] == [
            "# Code generated by mmoc. DO NOT EDIT.",
            "# Regenerate it with `mmoc compile` from the source named below.",
        ]
        # The path is one line of printable ASCII: a string literal holding it exactly.
        assert lines[2].startswith("# source: ")
        assert lines[2].isascii() and lines[2].isprintable()
        assert ast.literal_eval(lines[2].removeprefix("# source: ")) == path
        _assert_inert(result.code)
        module = load_module(result.code, f"mmoc_hostile_path_{i}")
        assert module.PIPELINE.metadata["source"] == path
        assert f"Compiled by mmoc from {path}." in module.__doc__


def test_docstrings_hold_the_description_exactly() -> None:
    # black strips each docstring line and re-indents nested ones; text it would change
    # must be written another way, so the docstring still says exactly what the source did.
    for i, text in enumerate(
        ("ends with spaces   \nnext", "first\n   indented\n  two", "a\n\n b ")
    ):
        result = compile_pipeline(_pipeline(text), source_path="d.mmo", source_text=text)
        assert result.code is not None, result.diagnostics
        module = load_module(result.code, f"mmoc_docstring_{i}")
        assert module.__doc__.startswith(text + "\n\nPipeline hostile, version ")


def _docstring_after_black(code: str, *, indented: bool) -> str | None:
    source = f"def f():\n    {code}\n" if indented else f"{code}\n"
    tree = ast.parse(black.format_str(source, mode=black.Mode()))
    if not indented:
        return ast.get_docstring(tree, clean=False)
    function = tree.body[0]
    assert isinstance(function, ast.FunctionDef)
    return ast.get_docstring(function, clean=False)


DOCSTRING_TEXTS = (
    "plain",
    "two\nlines",
    "x  \ny",
    " lead",
    "a\n  b",
    'q"',
    "b\\",
    "'x'",
    '"',
    "\\",
    " ",
    "",
    "\t",
    "\u2028",
    'ends with \\"',
)


def test_docstring_literal_is_exactly_its_text_after_black() -> None:
    for text in DOCSTRING_TEXTS:
        for indented in (False, True):
            code = docstring_literal(text, indented=indented)
            assert _docstring_after_black(code, indented=indented) == text, (text, indented)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=12), st.booleans())
def test_any_docstring_is_exactly_its_text_after_black(text: str, indented: bool) -> None:
    code = docstring_literal(text, indented=indented)
    assert _docstring_after_black(code, indented=indented) == text


def test_literal_ignores_a_str_subclass_repr() -> None:
    class Sneaky(str):
        def __repr__(self) -> str:
            return "__import__('os').system('touch PWNED')"

    assert literal(Sneaky("x")) == "'x'"
    assert literal({"k": [Sneaky("y")]}) == "{'k': ['y']}"


NFKC_NAMES = ("ｒｕｎ", "ﬁnd", "ｔｒａｎｓｆｏｒｍｓ", "ℕone", "a\u0399\u0308\u0301")


def test_names_python_would_normalise_stop_at_diagnostics(tmp_path: Path) -> None:
    # Python reads identifiers NFKC-normalised: `ｕp` would be `up`, rebinding another
    # step's constant or shadowing a helper. The checks refuse such names (MMO104).
    src = tmp_path / "nfkc.yaml"
    src.write_text(
        "name: nfkc\ninputs:\n  ｔｒａｎｓｆｏｒｍｓ: str\n  x: str\nsteps:\n"
        "  - name: ｕp\n    type: transform\n    function: upper\n"
        "    reads: [ｔｒａｎｓｆｏｒｍｓ]\n    output_key: big\n"
        "  - name: up\n    type: transform\n    function: lower\n"
        "    reads: [x]\n    output_key: small\n",
        encoding="utf-8",
    )
    result = compile_file(src)
    assert result.code is None
    found = [(d.code, d.message) for d in result.diagnostics]
    assert ("MMO104", "step name `ｕp` is not a valid name: Python reads `ｕp` as `up`") in found
    # `ｕp` and `up` are also one name to Python: a duplicate step (MMO101), at both places.
    assert ("MMO101", "Duplicate step name `up` (Python reads `up` and `ｕp` both as `up`)") in found
    assert {c for c, _ in found} == {"MMO104", "MMO101"}


def test_allocated_names_read_as_written() -> None:
    names = NameAllocator(avoid=set())
    # `\u0390` is stable but its upper case is not: the fallback is used, never a name that
    # would collide with another once Python normalises it.
    assert names.take("\u0390".upper() + "_STEP", "STEP") == "STEP"
    assert names.take("ＲＵＮ_STEP", "STEP") == "STEP_2"
    for name in NFKC_NAMES:
        view, diags = lower(_pipeline("t", name=name), source_path="x.mmo", source_text="")
        assert view is None and [d.code for d in diags] == ["MMO702"], name


def test_hostile_names_in_yaml_stop_at_diagnostics(tmp_path: Path) -> None:
    src = tmp_path / "evil.yaml"
    src.write_text(
        "name: evil\nsteps:\n"
        '  - name: \'x"); __import__("os").system("touch PWNED"); ("\'\n'
        "    model: mock/x\n    prompt: hi {who}\n"
        "    output_key: 'k = 1; import os'\n",
        encoding="utf-8",
    )
    result = compile_file(src)
    assert result.code is None
    assert {"MMO104"} <= {d.code for d in result.diagnostics}
    assert not (tmp_path / "evil_gen.py").exists()


def test_lowering_refuses_bad_names_even_without_the_checks() -> None:
    # Defence in depth: lowering is called directly here, skipping run_checks.
    for name, key in (("ok", "bad key"), ("class", "k"), ("a.b", "k"), ("ok", "import")):
        view, diags = lower(_pipeline("t", name=name, key=key), source_path="x.mmo", source_text="")
        assert view is None and [d.code for d in diags] == ["MMO702"], (name, key)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=40))
def test_any_text_round_trips_exactly(text: str) -> None:
    p = _pipeline(text)
    result = compile_pipeline(p, source_path="fuzz.mmo", source_text=text)
    assert result.ok and result.code is not None, result.diagnostics
    _assert_inert(result.code)
    module = load_module(result.code, "mmoc_fuzz_text")
    assert module.PIPELINE.description == text
    assert module.PIPELINE.steps[0].prompt == p.steps[0].prompt.value
