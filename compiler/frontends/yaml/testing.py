"""The YAML `tests:` section, the twin of `.mmo` `test` blocks (docs/yaml.md, docs/testing.md).

    tests:
      - name: polite_reply
        inputs: {topic: tea}
        replies: {research: "Tea is a drink."}
        expect:
          - summary contains "tea"                  # any .mmo expectation, as a string
          - {key: notes, schema: {type: string}}    # a schema, as YAML
          - {key: summary, judged_by: openai/gpt-4o-mini, criteria: is polite}

Expectation strings are read by the `.mmo` grammar, so both front ends give the same IR.
"""

from __future__ import annotations

from yaml.nodes import MappingNode, Node, ScalarNode

from ... import ir
from ..mmo.parse import parse_expectation
from .reader import Reader

TEST_FIELDS = ("name", "inputs", "replies", "expect")
SCHEMA_FIELDS = ("key", "schema")
JUDGE_FIELDS = ("key", "judged_by", "criteria")


def read_tests(r: Reader, node: Node) -> tuple[ir.Test, ...] | None:
    items = r.items(node, "tests", "the pipeline", False)
    if items is None:
        return None
    found = [_test(r, item) for item in items]
    return None if any(t is None for t in found) else tuple(t for t in found if t)


def _test(r: Reader, node: Node) -> ir.Test | None:
    fields = r.mapping(node, "a test")
    if fields is None:
        return None
    name_entry = r.require(fields, ("name",), "a test")
    name = None if name_entry is None else r.string(name_entry[1], "name", "a test")
    what = f"test `{name}`" if name is not None else "a test"
    r.known(fields, TEST_FIELDS, what)
    inputs = _values(r, fields.get("inputs"), f"`inputs` of {what}")
    replies = _values(r, fields.get("replies"), f"`replies` of {what}")
    expect = fields.get("expect")
    expectations = () if expect is None else _expectations(r, expect, what)
    if name is None or name_entry is None or inputs is None or replies is None:
        return None
    if expectations is None:
        return None
    return ir.Test(name=name, name_span=r.span(name_entry[1]), span=r.span(node),
                   inputs=inputs, replies=replies, expectations=expectations)


def _values(r: Reader, node: Node | None, what: str) -> tuple[ir.TestValue, ...] | None:
    if node is None:
        return ()
    fields = r.mapping(node, what)
    if fields is None:
        return None
    found: list[ir.TestValue | None] = []
    for name, (key, value) in fields.entries.items():
        ok, data = r.value(value, name, what)
        ident = ir.Ident(name=name, span=r.span(key))
        found.append(ir.TestValue(name=ident, value=data, span=r.span(key)) if ok else None)
    return None if any(v is None for v in found) else tuple(v for v in found if v)


def _expectations(r: Reader, node: Node, what: str) -> tuple[ir.Expectation, ...] | None:
    items = r.items(node, "expect", what)
    if items is None:
        return None
    found = [_expectation(r, item, what) for item in items]
    return None if any(e is None for e in found) else tuple(e for e in found if e)


def _expectation(r: Reader, node: Node, what: str) -> ir.Expectation | None:
    if isinstance(node, MappingNode):
        return _mapped(r, node, what)
    text = r.scalar_text(node, "expect", what)
    if text is None:
        return None
    assert isinstance(node, ScalarNode)
    mark = node.start_mark
    quoted = 1 if node.style in ("'", '"') else 0
    found, problems = parse_expectation(text, r.file, mark.line + 1, mark.column + 1 + quoted)
    r.diagnostics.extend(problems)
    return found


def _mapped(r: Reader, node: MappingNode, what: str) -> ir.Expectation | None:
    """`{key, schema}` or `{key, judged_by, criteria}`: the forms a string reads badly."""
    fields = r.mapping(node, f"an expectation of {what}")
    if fields is None:
        return None
    judged = "judged_by" in fields
    r.known(fields, JUDGE_FIELDS if judged else SCHEMA_FIELDS, f"an expectation of {what}")
    names = ("key", "judged_by", "criteria") if judged else ("key", "schema")
    entries = [r.require(fields, (n,), f"an expectation of {what}") for n in names]
    if any(e is None for e in entries):
        return None
    key = r.ident(entries[0][1], "key", what)  # type: ignore[index]
    if judged:
        model = r.model(entries[1][1], "judged_by", what)  # type: ignore[index]
        criteria = r.string(entries[2][1], "criteria", what)  # type: ignore[index]
        if key is None or model is None or criteria is None:
            return None
        return ir.ExpectJudged(key=key, model=model, criteria=criteria, span=r.span(node))
    schema_node = entries[1][1]  # type: ignore[index]
    ok, schema = r.value(schema_node, "schema", what)
    if ok and not isinstance(schema, dict):
        r.wrong_type(schema_node, "schema", what, "a mapping (a JSON schema)")
        return None
    if key is None or not ok:
        return None
    return ir.ExpectSchema(key=key, schema=schema, span=r.span(node))


def is_plain_expectation(e: ir.Expectation) -> bool:
    """Printed as a string (every form but a schema and a judge)."""
    return not isinstance(e, (ir.ExpectSchema, ir.ExpectJudged))


__all__ = ["is_plain_expectation", "read_tests"]
