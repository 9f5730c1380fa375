"""The .mmo front end's cost per step, counted in Python calls rather than timed (a timing
fails on a slow machine): bench/bench_hostile.py times the whole `mmoc check`."""

from __future__ import annotations

import sys
from types import FrameType
from typing import Any

from mmoc.frontends.mmo.parse import parse_mmo


def _source(steps: int) -> str:
    body = "".join(f'  step s{i} = llm mock/m {{ prompt "p" }} -> k{i}\n' for i in range(steps))
    return "pipeline t {\n" + body + "}\n"


def _calls(text: str) -> int:
    count = 0

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal count
        count += event == "call"

    sys.setprofile(profile)
    try:
        pipeline, diags = parse_mmo(text, "t.mmo")
    finally:
        sys.setprofile(None)
    assert pipeline is not None and not diags
    return count


def test_a_step_costs_a_bounded_number_of_python_calls() -> None:
    parse_mmo(_source(2), "warm.mmo")  # the parser is built (or loaded) once, not counted
    per_step = (_calls(_source(200)) - _calls(_source(100))) / 100
    # 325 today: Lark's lexer and LALR parser, the tree, one builder method per node. Lark's
    # `Transformer` with `v_args` made about 460 (it wraps each method anew on every call).
    assert per_step <= 360, per_step
