"""Inputs that used to blow up the YAML front end end in a diagnostic at their place: alias
bombs (MMO013), deep nesting (MMO011), numbers too large for any field (MMO010) and a source
too large (MMO012). Every bound is asserted on itself, never on wall-clock time."""

from __future__ import annotations

import textwrap

import pytest
import yaml
from mmoc.diagnostics.model import Diagnostic
from mmoc.driver import load_text
from mmoc.frontends.yaml.compose import _Composer, compose
from mmoc.frontends.yaml.nodes import flatten_merges, to_value
from mmoc.frontends.yaml.parse import parse_yaml
from mmoc.limits import MAX_ALIAS_EXPANSION, MAX_NESTING, MAX_SOURCE_BYTES, MAX_YAML_NESTING
from mmoc.source import offset_to_line_col
from yaml.nodes import MappingNode, Node, ScalarNode

STEP = "steps:\n  - {name: s, model: mock/echo, prompt: hi}\n"


def errors(text: str) -> list[Diagnostic]:
    found = load_text(text, "t.yaml", ".yaml").diagnostics
    assert all(d.code != "MMO702" for d in found), found
    return [d for d in found if d.is_error]


def at(text: str, fragment: str) -> tuple[int, int]:
    return offset_to_line_col(text, text.index(fragment))


def where(d: Diagnostic) -> tuple[str, int, int]:
    assert d.span is not None
    return d.code, d.span.line, d.span.column


# ---- aliases ("billion laughs") ------------------------------------------------------------


def laughs(levels: int, width: int = 9) -> str:
    """`levels` anchors, each a list of `width` aliases of the one before, used as defaults."""
    first = ", ".join(["lol"] * width)
    lines = ["name: lol", "inputs:", f"  a0: {{type: json, default: &a0 [{first}]}}"]
    for i in range(1, levels):
        items = ", ".join([f"*a{i - 1}"] * width)
        lines.append(f"  a{i}: {{type: json, default: &a{i} [{items}]}}")
    names = "".join(f"{{a{i}}}" for i in range(levels))
    return "\n".join(lines) + f"\nsteps:\n  - {{name: s, model: mock/echo, prompt: '{names}'}}\n"


def test_billion_laughs_stops_at_the_alias_that_passes_the_budget() -> None:
    text = laughs(9)  # 9**9 = 387 million strings if expanded
    assert len(text) < 1000
    (d,) = errors(text)
    assert d.code == "MMO013" and f"more than {MAX_ALIAS_EXPANSION:,} nodes" in d.message
    # a3 repeats 9 * 91 + 1 nodes at each of its uses: the 5th use of `*a3` passes 10,000.
    line_a4 = text.splitlines().index(next(ln for ln in text.splitlines() if "&a4" in ln)) + 1
    assert d.span is not None and d.span.line == line_a4 and "`*a3`" in d.message
    assert text.splitlines()[line_a4 - 1][d.span.column - 1 :].startswith("*a3")


def test_the_alias_budget_counts_every_repeated_node() -> None:
    """Aliases repeating exactly MAX_ALIAS_EXPANSION nodes are fine; one node more is not."""
    uses = MAX_ALIAS_EXPANSION // 10  # `*ten` repeats the list and its nine items: 10 nodes
    body = ", ".join(["*ten"] * uses)
    value = f"[&ten [1, 2, 3, 4, 5, 6, 7, 8, 9], {body}]"
    text = f"name: x\ninputs:\n  a: {{type: json, default: {value}}}\n"
    fits = text + "steps:\n  - {name: s, model: mock/echo, prompt: '{a}'}\n"
    p, found = parse_yaml(fits, "t.yaml")
    assert found == [] and p is not None
    assert len(p.inputs[0].default) == uses + 1
    over = fits.replace("9], ", "9], *ten, ", 1)
    assert [d.code for d in errors(over)] == ["MMO013"]


def test_recursive_alias_is_still_a_wrong_type_not_a_hang() -> None:
    text = "name: x\ninputs:\n  a: {type: json, default: &r [*r]}\n" + STEP
    (d,) = errors(text)
    assert d.code == "MMO006" and "recursive alias" in d.message


# ---- merge keys ------------------------------------------------------------------------------


def test_a_long_merge_chain_is_a_diagnostic_not_a_recursion_error() -> None:
    defs = "".join(f"  m{i}: &m{i} {{<<: *m{i - 1}}}\n" for i in range(1, 1000))
    text = "name: x\n_defs:\n  m0: &m0 {max_retries: 1}\n" + defs
    text += "steps:\n  - {name: s, model: mock/echo, prompt: hi, retry: *m999}\n"
    (d,) = errors(text)  # each link repeats the whole chain before it: quadratic
    assert d.code == "MMO013" and d.span is not None
    assert text.splitlines()[d.span.line - 1][d.span.column - 1 :].startswith("*m")


def test_a_merge_chain_within_the_budget_reads_through() -> None:
    links = [f"  i{k}: {{type: json, default: &m{k} {{<<: *m{k - 1}, k{k}: {k}}}}}\n"
             for k in range(1, 60)]
    text = "name: x\ninputs:\n  i0: {type: json, default: &m0 {k0: 0}}\n" + "".join(links)
    p, found = parse_yaml(text + STEP, "t.yaml")
    assert found == [] and p is not None
    assert p.inputs[-1].default == {f"k{k}": k for k in range(60)}


def test_flatten_merges_is_a_loop_for_any_chain() -> None:
    """5,000 mappings, each merging the one before: no recursion, the nearest key wins."""
    def key(text: str) -> ScalarNode:
        return ScalarNode("tag:yaml.org,2002:str", text)

    merge = ScalarNode("tag:yaml.org,2002:merge", "<<")
    chain = [MappingNode("tag:yaml.org,2002:map", [(key("k0"), key("v0"))])]
    for i in range(1, 5000):
        chain.append(
            MappingNode("tag:yaml.org,2002:map", [(merge, chain[-1]), (key("last"), key(str(i)))])
        )
    assert flatten_merges(chain[-1]) is None
    assert to_value(chain[-1]) == {"k0": "v0", "last": "4999"}


def test_merge_precedence_follows_the_yaml_spec() -> None:
    text = textwrap.dedent(
        """\
        name: x
        retry_policies:
          a: &a {max_retries: 1, backoff: constant}
          b: &b {max_retries: 2, multiplier: 3}
          c: {<<: [*a, *b], backoff: exponential}
        """
    ) + STEP
    p, found = parse_yaml(text, "t.yaml")
    assert found == [] and p is not None
    c = p.retry_policies[2]
    # own keys win; of the merged mappings, the earlier one wins
    assert (c.max_retries, c.backoff, c.multiplier) == (1, "exponential", 3)


# ---- nesting ---------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [MAX_YAML_NESTING + 1, 990, 100_000])
def test_deep_flow_nesting_is_a_diagnostic_at_the_level_past_the_limit(depth: int) -> None:
    text = "name: x\nsteps: " + "[" * depth + "]" * depth + "\n"
    (d,) = errors(text)
    # the root mapping is level 1, so bracket b is level b + 1: the one past the limit is 64
    assert where(d) == ("MMO011", 2, len("steps: ") + MAX_YAML_NESTING)


def test_deep_block_nesting_is_a_diagnostic() -> None:
    text = "name: x\nsteps:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 100))
    (d,) = errors(text)
    assert d.code == "MMO011" and d.span is not None
    assert d.span.line == MAX_YAML_NESTING + 2  # line 3 starts level 2


def nested_list(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


def test_a_value_nested_at_the_limit_is_read() -> None:
    text = f"name: x\ninputs:\n  a: {{type: json, default: {nested_list(MAX_NESTING)}}}\n" + STEP
    p, found = parse_yaml(text, "t.yaml")
    assert found == [] and p is not None
    value = p.inputs[0].default
    for _ in range(MAX_NESTING):
        value = value[0]
    assert value == 1


@pytest.mark.parametrize("field", ["default", "schema"])
def test_a_value_nested_past_the_limit_is_a_diagnostic_at_the_deep_list(field: str) -> None:
    deep = nested_list(MAX_NESTING + 1)
    if field == "default":
        text = f"name: x\ninputs:\n  a: {{type: json, default: {deep}}}\n" + STEP
    else:
        step = f"{{name: s, model: mock/echo, prompt: hi, schema: {{enum: {deep}}}}}"
        text = f"name: x\nsteps:\n  - {step}\n"
    (d,) = errors(text)
    line, column = at(text, deep)
    # the schema mapping is one level itself, so its list goes past the limit one bracket sooner
    skipped = MAX_NESTING if field == "default" else MAX_NESTING - 1
    assert where(d) == ("MMO011", line, column + skipped)
    assert f"`{field}`" in d.message


def test_a_value_nested_deeply_through_aliases_is_still_bounded() -> None:
    """Each anchor is shallow, but aliases stack them 40 lists deep."""
    lines = ["name: x", "inputs:", "  a0: {type: json, default: &a0 [1]}"]
    lines += [f"  a{i}: {{type: json, default: &a{i} [*a{i - 1}]}}" for i in range(1, 40)]
    found = errors("\n".join(lines) + "\n" + STEP)
    assert {d.code for d in found} == {"MMO011"} and len(found) == 40 - MAX_NESTING
    assert "`default` of input `a32`" in found[0].message
    assert where(found[0]) == ("MMO011", 3, 29)  # the innermost list, past the limit


# ---- numbers ---------------------------------------------------------------------------------

HUGE_INTS = ["9" * 309, "-" + "9" * 309, "1" + "0" * 4300, "9007199254740992"]
HUGE_FLOAT = "1.0e+400"

# Every numeric field of the YAML schema, N marking the number.
INT_FIELDS = [
    "steps:\n  - {name: s, model: m/x, prompt: hi, max_retries: N}\n",
    "steps:\n  - {name: s, model: m/x, prompt: hi, max_tokens: N}\n",
    "steps:\n  - {name: s, model: m/x, prompt: hi, retry: {max_retries: N}}\n",
    "retry_policies: {r: {max_retries: N}}\n" + STEP,
    "breaker_policies: {b: {failure_threshold: N}}\n" + STEP,
    "steps:\n  - {name: s, model: m/x, prompt: hi, breaker: {half_open_max_calls: N}}\n",
    ("steps:\n  - name: g\n    type: parallel_group\n    concurrency: N\n"
     "    steps: [{name: s, model: m/x, prompt: hi}]\n"),
    "inputs: {a: {type: int, default: N}}\n" + STEP,
]
NUMBER_FIELDS = [
    "steps:\n  - {name: s, model: m/x, prompt: hi, temperature: N}\n",
    "steps:\n  - {name: s, model: m/x, prompt: hi, timeout: N}\n",
    "steps:\n  - {name: s, model: m/x, prompt: hi, timeout_seconds: N}\n",
    "defaults: {timeout: N}\n" + STEP,
    "steps:\n  - {name: s, model: m/x, prompt: hi, retry: {base_delay_seconds: N}}\n",
    "steps:\n  - {name: s, model: m/x, prompt: hi, retry: {multiplier: N}}\n",
    "retry_policies: {r: {max_delay_seconds: N}}\n" + STEP,
    "breaker_policies: {b: {recovery_timeout_seconds: N}}\n" + STEP,
    "inputs: {a: {type: float, default: N}}\n" + STEP,
    "inputs: {a: {type: json, default: {k: [1, N]}}}\n" + STEP,
    "steps:\n  - {name: s, model: m/x, prompt: hi, schema: {type: integer, enum: [1, N]}}\n",
    "steps:\n  - {name: s, model: m/x, prompt: hi, schema: {type: integer, default: N}}\n",
]
DURATION_FIELDS = [
    "steps:\n  - {name: s, model: m/x, prompt: hi, timeout: Ns}\n",
    "defaults: {timeout_seconds: Nms}\n" + STEP,
    "steps:\n  - {name: s, model: m/x, prompt: hi, retry: {max_delay_seconds: Nh}}\n",
    "breaker_policies: {b: {recovery_timeout_seconds: Nm}}\n" + STEP,
]


def number_case(template: str, number: str) -> tuple[str, tuple[str, int, int]]:
    text = "name: x\n" + template.replace("N", number)
    return text, ("MMO010", *at(text, number))


@pytest.mark.parametrize("number", HUGE_INTS, ids=["309-nines", "negative", "4301-digits", "2**53"])
@pytest.mark.parametrize("template", INT_FIELDS + NUMBER_FIELDS)
def test_a_huge_whole_number_is_mmo010_at_the_number(template: str, number: str) -> None:
    text, expected = number_case(template, number)
    assert [where(d) for d in errors(text)] == [expected]


@pytest.mark.parametrize("template", NUMBER_FIELDS)
def test_a_float_that_overflows_is_mmo010_at_the_number(template: str) -> None:
    text, expected = number_case(template, HUGE_FLOAT)
    assert [where(d) for d in errors(text)] == [expected]


@pytest.mark.parametrize("template", DURATION_FIELDS)
@pytest.mark.parametrize("number", ["1" + "0" * 309, "9" * 5000])
def test_a_huge_duration_is_mmo010_at_the_duration(template: str, number: str) -> None:
    text, expected = number_case(template, number)
    assert [where(d) for d in errors(text)] == [expected]


def test_a_huge_number_in_a_condition_is_mmo010_at_the_number() -> None:
    number = "1" + "0" * 4300
    step = f"{{name: s, model: mock/x, prompt: 'hi {{a}}', condition: 'a > {number}'}}"
    text = f"name: x\ninputs: {{a: int}}\nsteps:\n  - {step}\n"
    (d,) = errors(text)
    assert where(d) == ("MMO010", *at(text, number))


def test_the_largest_number_is_read() -> None:
    text = "name: x\ninputs: {a: {type: int, default: -9007199254740991}}\n" + STEP
    p, found = parse_yaml(text, "t.yaml")
    assert found == [] and p is not None and p.inputs[0].default == -(2**53 - 1)


def test_infinity_as_written_is_left_to_the_range_checks() -> None:
    text = "name: x\n" + "steps:\n  - {name: s, model: mock/x, prompt: hi, timeout: .inf}\n"
    assert [d.code for d in errors(text)] == ["MMO507"]


# ---- the source's size -----------------------------------------------------------------------


def test_a_source_past_the_size_limit_is_refused_before_it_is_parsed() -> None:
    text = "name: x\n" + STEP + "#" * MAX_SOURCE_BYTES
    (d,) = errors(text)
    assert where(d) == ("MMO012", 1, 1)


def test_the_size_limit_counts_utf8_bytes() -> None:
    comment = "# " + "é" * ((MAX_SOURCE_BYTES - 100) // 2) + "\n"  # two bytes each
    assert len(comment) < MAX_SOURCE_BYTES < len(comment.encode("utf-8")) + 200
    text = "name: x\n" + STEP + comment
    fits = len(text.encode("utf-8")) <= MAX_SOURCE_BYTES
    assert fits and errors(text) == []
    assert [d.code for d in errors(text + "é" * 100)] == ["MMO012"]


# ---- the composer builds what PyYAML's composer builds ----------------------------------------

SAMPLE = textwrap.dedent(
    """\
    name: &n sample
    base: &base {model: m/x, temperature: 0.5}
    steps:
      - <<: *base
        name: a
        prompt: |
          line {x}
      - {name: b, model: *n, prompt: 'q''s', tags: !!set {a, b}, when: ~}
    list: [1, 2.5, "s", null, true, 2001-12-14]
    """
)


def shape(root: Node | None) -> list[tuple[object, ...]]:
    """Every node once, in document order: kind, tag, style and marks."""
    out: list[tuple[object, ...]] = []
    stack = [root]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        assert node is not None
        if id(node) in seen:
            continue
        seen.add(id(node))
        start, end, value = node.start_mark, node.end_mark, node.value
        style = getattr(node, "style", None) or None  # libyaml says "" where PyYAML says None
        size = value if isinstance(value, str) else len(value)
        out.append((type(node).__name__, node.tag, style, getattr(node, "flow_style", None),
                    start.line, start.column, end.line, end.column, size))
        if isinstance(value, list):
            for entry in reversed(value):
                stack.extend(reversed(entry) if isinstance(entry, tuple) else (entry,))
    return out


@pytest.mark.parametrize("loader", ["SafeLoader", "CSafeLoader"])
def test_the_composer_builds_the_same_nodes_as_pyyaml(loader: str) -> None:
    cls = getattr(yaml, loader, None)
    if cls is None:
        pytest.skip("PyYAML built without libyaml")
    ours = _Composer(cls(SAMPLE), "s.yaml").document()
    assert shape(ours) == shape(yaml.compose(SAMPLE, Loader=cls))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: *x\n", "found undefined alias 'x'"),
        ("a: &x 1\nb: &x 2\n", "found duplicate anchor 'x'"),
        ("a: 1\n---\nb: 2\n", "expected a single document"),
    ],
)
def test_composer_errors_read_as_pyyaml_words_them(text: str, message: str) -> None:
    root, (d,) = compose(text, "t.yaml")
    assert root is None and d.code == "MMO002" and message in d.message
