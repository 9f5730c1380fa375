"""MMO702: one builder (`diagnostics.internal_error`), and front-end crashes caught only by
`loader.load_text`, never passed off as the user's mistake."""

from __future__ import annotations

import pytest
from mmoc.diagnostics.model import INTERNAL_ERROR_HELP, internal_error
from mmoc.driver import load_text
from mmoc.frontends.mmo import parse as frontend_mmo
from mmoc.frontends.yaml import parse as frontend_yaml
from mmoc.source import Span


def test_internal_error_reads_the_same_for_exceptions_and_messages() -> None:
    where = Span.point("p.mmo", 3, 4)
    from_exc = internal_error(KeyError("x"), where, doing="parsing `p.mmo`")
    assert from_exc.code == "MMO702" and from_exc.span == where
    assert from_exc.message == "internal error while parsing `p.mmo`: KeyError: 'x'"
    assert from_exc.help == INTERNAL_ERROR_HELP and from_exc.is_error
    from_text = internal_error("no step constant", doing="generating code", help="report it")
    assert from_text.message == "internal error while generating code: no step constant"
    assert from_text.span is None and from_text.help == "report it"


def _crash(*_args: object, **_kwargs: object) -> None:
    raise RuntimeError("boom")


def test_a_crashing_yaml_front_end_is_reported_by_the_loader(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(frontend_yaml._Builder, "pipeline", _crash)
    with pytest.raises(RuntimeError):  # the front end itself has no catch-all any more
        frontend_yaml.parse_yaml("name: x\nsteps: []\n", "x.yaml")
    loaded = load_text("name: x\nsteps: []\n", "x.yaml", ".yaml")
    assert loaded.pipeline is None
    assert [d.code for d in loaded.diagnostics] == ["MMO702"]
    assert loaded.diagnostics[0].message == (
        "internal error while parsing `x.yaml`: RuntimeError: boom"
    )


def test_a_crashing_condition_parser_is_no_bad_condition(monkeypatch: pytest.MonkeyPatch) -> None:
    # Before, our own crash came back as the user's MMO601 "bad condition".
    monkeypatch.setattr(frontend_mmo, "parse_condition", _crash)
    text = "name: x\nsteps: [{name: a, model: m, prompt: p, condition: 'len(k) > 1'}]\n"
    loaded = load_text(text, "c.yaml", ".yaml")
    assert [d.code for d in loaded.diagnostics] == ["MMO702"]


def test_a_crashing_mmo_parse_is_reported_by_the_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(frontend_mmo, "_assign_comments", _crash)
    loaded = load_text("pipeline p {\n}\n", "p.mmo", ".mmo")
    assert [d.code for d in loaded.diagnostics] == ["MMO702"]
    assert "RuntimeError: boom" in loaded.diagnostics[0].message
