"""The YAML front end: the seed's pipeline schema plus mmoc's extensions, into the IR.

A user's mistake never raises from `parse_yaml` (a crash would be our bug, which
`loader.load_text` reports as MMO702). It composes with the safe resolver within the limits of
`limits` (yaml_compose), so every IR node gets the span of the YAML node it came from, and it
reports every shape problem it finds as a diagnostic. The schema is documented in
docs/yaml.md.
"""

from __future__ import annotations

import difflib
from typing import Any

from mmoc_runtime.template import Placeholder, parse_template
from yaml.nodes import MappingNode, Node, ScalarNode

from ... import ir
from ...diagnostics.model import Diagnostic
from ...limits import source_too_large
from ...source import Span
from .compose import compose
from .conditions import parse_condition_text
from .limits import read_budget, read_limits
from .maps import MAP_FIELDS, read_map
from .nodes import text_positions
from .reader import Fields, Reader
from .sections import (
    breaker_setting,
    cache_setting,
    read_aliases,
    read_defaults,
    read_endpoints,
    read_inputs,
    read_named_policies,
    retry_setting,
)
from .testing import read_tests

STEP_TYPES = ("llm", "transform", "parallel_group", "conditional", "map")
MEMBER_TYPES = ("llm", "transform", "conditional")

PIPELINE_FIELDS = (
    "name", "version", "description", "metadata", "inputs", "outputs", "models", "providers",
    "retry_policies", "breaker_policies", "defaults", "steps", "limits", "budget", "tests",
)  # fmt: skip
COMMON_FIELDS = (
    "name", "type", "step_type", "output_key", "depends_on", "after", "condition", "when",
    "timeout_seconds", "timeout",
)  # fmt: skip
LLM_FIELDS = COMMON_FIELDS + (
    "model", "prompt", "prompt_template", "system", "temperature", "max_tokens", "stop",
    "max_retries", "retry", "fallback", "breaker", "json", "schema", "input_mapping", "cache",
)  # fmt: skip
TRANSFORM_FIELDS = COMMON_FIELDS + ("function", "reads", "input_mapping", "pass_context")
GROUP_FIELDS = COMMON_FIELDS + ("steps", "sub_steps", "concurrency")
# The IR fields holding a plain value, and the YAML keys that give it (first found wins, as
# `one_of` reads them): their spans go to the IR's `field_spans`.
VALUE_FIELDS = (
    ("timeout", ("timeout_seconds", "timeout")),
    ("temperature", ("temperature",)),
    ("max_tokens", ("max_tokens",)),
    ("concurrency", ("concurrency",)),
)
FIELDS_BY_TYPE = {
    "llm": LLM_FIELDS,
    "conditional": LLM_FIELDS,
    "transform": TRANSFORM_FIELDS,
    "parallel_group": GROUP_FIELDS,
    "map": MAP_FIELDS,
}


def parse_yaml(text: str, file: str) -> tuple[ir.Pipeline | None, list[Diagnostic]]:
    """The pipeline in `text` (named `file` in spans), or None with the reasons why."""
    too_large = source_too_large(text, file)
    if too_large is not None:
        return None, [too_large]
    root, problems = compose(text, file)
    if root is None:
        if not problems:
            where = Span.point(file, 1, 1)
            problems = [Diagnostic("MMO003", "the YAML document is empty", where)]
        return None, problems
    reader = Reader(text, file)
    # Best effort, as the .mmo front end: a pipeline whose shape could be read goes on to the
    # checks even when some field was wrong (an unknown key, a bad condition), so one run
    # reports every problem in the file. A step too broken to build still stops it, rather
    # than letting its absence cause follow-on errors.
    return _Builder(reader).pipeline(root), reader.diagnostics


class _Builder:
    def __init__(self, reader: Reader) -> None:
        self.r = reader

    # ---- the pipeline --------------------------------------------------------------------

    def pipeline(self, root: Node) -> ir.Pipeline | None:
        r = self.r
        fields = r.mapping(root, "a pipeline document")
        if fields is None:
            return None
        what = "the pipeline"
        r.known(fields, PIPELINE_FIELDS, what)
        name_entry = r.require(fields, ("name",), what)
        name = None if name_entry is None else r.string(name_entry[1], "name", what)
        values: dict[str, Any] = {}
        for field, read in (
            ("version", r.scalar_text),
            ("description", r.string),
            ("outputs", r.idents),
        ):
            node = fields.get(field)
            if node is not None:
                values[field] = read(node, field, what)
        for field, attr, read_section in (
            ("inputs", "inputs", read_inputs),
            ("models", "models", read_aliases),
            ("providers", "providers", read_endpoints),
            ("defaults", "defaults", read_defaults),
            ("tests", "tests", read_tests),
        ):
            node = fields.get(field)
            if node is not None:
                values[attr] = read_section(r, node)
        for section in ("retry_policies", "breaker_policies"):
            node = fields.get(section)
            if node is not None:
                values[section] = read_named_policies(r, node, section)
        metadata = fields.get("metadata")
        if metadata is not None:
            ok, data = r.value(metadata, "metadata", what)
            data = {} if ok and data is None else data  # `metadata:` left empty
            if ok and not isinstance(data, dict):
                r.wrong_type(metadata, "metadata", what, "a mapping")
            values["metadata"] = data if ok and isinstance(data, dict) else None
        for field, read_limit in (("limits", read_limits), ("budget", read_budget)):
            node = fields.get(field)
            if node is not None:
                values[field] = read_limit(r, node)
        if "inputs" in fields:
            values["inputs_declared"] = True
        steps_entry = r.require(fields, ("steps",), what)
        steps = (
            None if steps_entry is None else self.steps(steps_entry[1], STEP_TYPES, "steps", what)
        )
        if name is None or steps is None or any(v is None for v in values.values()):
            return None
        return ir.Pipeline(name=name, steps=steps, span=r.span(root), **values)

    def steps(
        self, node: Node, allowed: tuple[str, ...], field: str, owner: str
    ) -> tuple[Any, ...] | None:
        items = self.r.items(node, field, owner, False)
        if items is None:
            return None
        found = [self.step(item, allowed) for item in items]
        return None if any(s is None for s in found) else tuple(found)

    # ---- steps ---------------------------------------------------------------------------

    def step(self, node: Node, allowed: tuple[str, ...]) -> Any:
        r = self.r
        fields = r.mapping(node, "a step")
        if fields is None:
            return None
        name_entry = r.require(fields, ("name",), "a step")
        name = None if name_entry is None else r.string(name_entry[1], "name", "a step")
        what = f"step `{name}`" if name is not None else "a step"
        step_type = self.step_type(fields, allowed, what)
        if step_type is None:
            return None
        article = "an" if step_type == "llm" else "a"
        r.known(fields, FIELDS_BY_TYPE[step_type], what, f" ({article} {step_type} step)")
        common = self.common(fields, what, name, step_type)
        body = {
            "llm": self.llm,
            "conditional": self.llm,
            "transform": self.transform,
            "parallel_group": self.group,
            "map": self.map_body,
        }[step_type](fields, what)
        if step_type == "conditional" and "condition" not in fields and "when" not in fields:
            r.error("MMO005", f"{what} is conditional but has no `condition`", r.start(node))
            return None
        if name is None or name_entry is None or common is None or body is None:
            return None
        cls = {"transform": ir.TransformStep, "parallel_group": ir.GroupStep, "map": ir.MapStep}.get(
            step_type, ir.LlmStep
        )
        return cls(
            name=name, name_span=r.span(name_entry[1]), span=r.span(node),
            field_spans=self.value_spans(fields), **common, **body,
        )

    def value_spans(self, fields: Fields) -> tuple[tuple[str, Span], ...]:
        """The IR's `field_spans` of a step: where each plain value was written."""
        found = []
        for attr, keys in VALUE_FIELDS:
            for key in keys:
                node = fields.get(key)
                if node is not None:
                    found.append((attr, self.r.span(node)))
                    break
        return tuple(found)

    def step_type(self, fields: Fields, allowed: tuple[str, ...], what: str) -> str | None:
        r = self.r
        entry = r.one_of(fields, ("type", "step_type"), what)
        if entry is None:
            return "llm"
        value = r.string(entry[1], entry[0], what)
        if value is None:
            return None
        if value not in allowed:
            nested = value in STEP_TYPES
            message = (
                f"a parallel group cannot contain another group ({what})"
                if nested
                else f"unknown step type `{value}` in {what}"
            )
            if value == "map":
                message = f"a map step cannot be inside a group or a map body ({what})"
            close = difflib.get_close_matches(value, allowed, n=1)
            hint = f"did you mean `{close[0]}`? " if close and not nested else ""
            r.error("MMO007", message, entry[1], help=hint + "allowed types: " + ", ".join(allowed))
            return None
        return value

    def common(
        self, fields: Fields, what: str, name: str | None, step_type: str
    ) -> dict[str, Any] | None:
        """The fields every step type has: output key, dependencies, condition, timeout."""
        r = self.r
        out: dict[str, Any] = {}
        ok = True
        key_node = fields.get("output_key")
        if key_node is not None:
            out["output_key"] = r.string(key_node, "output_key", what)
            out["output_key_span"] = r.span(key_node)
            ok = out["output_key"] is not None
        elif name is not None:
            out["output_key"] = f"{name}_output"  # the seed's default, groups included
            name_node = fields.get("name")
            out["output_key_span"] = r.span(name_node) if name_node is not None else None
        after = r.one_of(fields, ("depends_on", "after"), what)
        if after is not None:
            out["after"] = r.idents(after[1], after[0], what)
            ok = ok and out["after"] is not None
        condition = r.one_of(fields, ("condition", "when"), what)
        if condition is not None:
            # A bad condition is reported here; the step is kept without it for the checks.
            out["when"] = self.condition(condition[1], condition[0], what)
        timeout = r.one_of(fields, ("timeout_seconds", "timeout"), what)
        if timeout is not None:
            out["timeout"] = r.duration(timeout[1], timeout[0], what)
            ok = ok and out["timeout"] is not None
        return out if ok else None

    def condition(self, node: Node, field: str, what: str) -> ir.Expr | None:
        r = self.r
        text = r.scalar_text(node, field, what) if not _is_bool(node) else node.value
        if text is None or (isinstance(text, str) and not text.strip()):
            return None  # `condition: ''` is no condition, as in the seed
        positions = text_positions(node, r.lines) if isinstance(node, ScalarNode) else None
        expr, problems = parse_condition_text(text, r.file, r.span(node), positions, what)
        r.diagnostics.extend(problems)
        return expr

    def llm(self, fields: Fields, what: str) -> dict[str, Any] | None:
        r = self.r
        out: dict[str, Any] = {}
        model = r.require(fields, ("model",), what)
        prompt = r.require(fields, ("prompt", "prompt_template"), what)
        if model is not None:
            out["model"] = r.model(model[1], "model", what)
        if prompt is not None:
            out["prompt"] = r.text(prompt[1], prompt[0], what)
        self.optional(fields, what, out, (
            ("system", "system", r.text),
            ("temperature", "temperature", r.number),
            ("max_tokens", "max_tokens", r.integer),
            ("stop", "stop", r.strings),
            ("fallback", "fallback", r.models),
        ))  # fmt: skip
        self.retry(fields, what, out)
        breaker_node = fields.get("breaker")
        if breaker_node is not None:
            out["breaker"] = breaker_setting(r, breaker_node, what)
        cache_node = fields.get("cache")
        if cache_node is not None:
            out["cache"] = cache_setting(r, cache_node, what)
        output = self.output(fields, what)
        if output is not False:
            out["output"] = output
        mapping_node = fields.get("input_mapping")
        if mapping_node is not None:
            mapping = self.renames(mapping_node, what)
            if mapping is None:
                return None
            for field in ("prompt", "system"):
                if out.get(field) is not None:
                    out[field] = _rename_placeholders(out[field], mapping)
        if model is None or prompt is None or any(v is None for v in out.values()):
            return None
        return out

    def optional(self, fields: Fields, what: str, out: dict[str, Any], specs: Any) -> None:
        for field, attr, read in specs:
            node = fields.get(field)
            if node is not None:
                out[attr] = read(node, field, what)


    def retry(self, fields: Fields, what: str, out: dict[str, Any]) -> None:
        """`retry` (a name or settings), or the seed's `max_retries: N`; not both."""
        r = self.r
        retry_node, count_node = fields.get("retry"), fields.get("max_retries")
        if retry_node is not None and count_node is not None:
            key = fields.key_node("max_retries")
            assert key is not None
            r.error(
                "MMO107",
                f"{what} gives both `retry` and `max_retries`",
                key,
                help="put `max_retries` inside the `retry` settings",
            )
            out["retry"] = None
        elif retry_node is not None:
            out["retry"] = retry_setting(r, retry_node, what)
        elif count_node is not None:
            count = r.integer(count_node, "max_retries", what)
            out["retry"] = (
                None
                if count is None
                else ir.RetryPolicy(
                    max_retries=count,
                    span=r.span(count_node),
                    field_spans=(("max_retries", r.span(count_node)),),
                )
            )

    def output(self, fields: Fields, what: str) -> ir.OutputSpec | None | bool:
        """`json: true` and/or `schema: {...}`; False when neither asks for structured output."""
        r = self.r
        json_node, schema_node = fields.get("json"), fields.get("schema")
        wants_json = True if json_node is None else r.boolean(json_node, "json", what)
        if wants_json is None:
            return None
        if schema_node is None:
            if json_node is None or not wants_json:
                return False
            return ir.OutputSpec(span=r.span(json_node))
        if not wants_json:
            r.error("MMO006", f"{what} has a `schema` but `json: false`", schema_node)
            return None
        ok, schema = r.value(schema_node, "schema", what)
        if ok and not isinstance(schema, dict):
            r.wrong_type(schema_node, "schema", what, "a mapping (a JSON schema)")
            return None
        return ir.OutputSpec(schema=schema, span=r.span(schema_node)) if ok else None

    def renames(self, node: Node, what: str) -> dict[str, str] | None:
        """`input_mapping: {placeholder: key}` of an llm step."""
        r = self.r
        fields = r.mapping(node, f"`input_mapping` of {what}")
        if fields is None:
            return None
        found = {k: r.string(v, f"input_mapping.{k}", what) for k, (_, v) in fields.entries.items()}
        return None if any(v is None for v in found.values()) else found  # type: ignore[return-value]

    def transform(self, fields: Fields, what: str) -> dict[str, Any] | None:
        r = self.r
        out: dict[str, Any] = {}
        function = r.require(fields, ("function",), what)
        if function is not None:
            out["function"] = r.string(function[1], "function", what)
        self.optional(fields, what, out, (
            ("reads", "reads", r.idents),
            ("pass_context", "pass_context", r.boolean),
        ))  # fmt: skip
        mapping_node = fields.get("input_mapping")
        if mapping_node is not None:
            extra = self.transform_reads(mapping_node, what)
            out["reads"] = None if extra is None else _merge_reads(out.get("reads", ()), extra)
        if function is None or any(v is None for v in out.values()):
            return None
        return out

    def transform_reads(self, node: Node, what: str) -> tuple[ir.Ident, ...] | None:
        """A transform's `input_mapping: {argument: key}`: it reads each key, by its own name."""
        r = self.r
        fields = r.mapping(node, f"`input_mapping` of {what}")
        if fields is None:
            return None
        found: list[ir.Ident] = []
        for argument, (key_node, value) in fields.entries.items():
            key = r.ident(value, f"input_mapping.{argument}", what)
            if key is None:
                return None
            if key.name != argument:
                r.error(
                    "MMO006",
                    f"{what} maps argument `{argument}` to key `{key.name}`, but a transform "
                    "receives each key under its own name",
                    key_node,
                    help=f"name the function's parameter `{key.name}`, and list it in `reads`",
                )
                return None
            found.append(key)
        return tuple(found)

    def map_body(self, fields: Fields, what: str) -> dict[str, Any] | None:
        return read_map(self, fields, what)

    def group(self, fields: Fields, what: str) -> dict[str, Any] | None:
        r = self.r
        members = r.require(fields, ("steps", "sub_steps"), what)
        out: dict[str, Any] = {}
        if members is not None:
            out["steps"] = self.steps(members[1], MEMBER_TYPES, members[0], what)
        self.optional(fields, what, out, (("concurrency", "concurrency", r.integer),))
        if members is None or any(v is None for v in out.values()):
            return None
        return out


def _is_bool(node: Node) -> bool:
    return not isinstance(node, MappingNode) and getattr(node, "tag", "").endswith(":bool")


def _merge_reads(reads: tuple[ir.Ident, ...], extra: tuple[ir.Ident, ...]) -> tuple[ir.Ident, ...]:
    names = {i.name for i in reads}
    return reads + tuple(i for i in extra if i.name not in names)


def _rename_placeholders(text: ir.Text, mapping: dict[str, str]) -> ir.Text:
    """The prompt with `{placeholder}` rewritten to `{key}` as `input_mapping` says.

    Characters of a rewritten placeholder keep pointing at the placeholder as written."""
    value, positions = text.value, text.positions
    pieces: list[str] = []
    spots: list[tuple[int, int]] = []
    done = 0
    for part in parse_template(value).parts:
        if not isinstance(part, Placeholder) or part.name not in mapping:
            continue
        pieces.append(value[done : part.start])
        new = "{" + mapping[part.name] + "}"
        pieces.append(new)
        if positions is not None:
            spots.extend(positions[done : part.start])
            spots.extend(positions[min(part.start + i, part.end - 1)] for i in range(len(new)))
        done = part.end
    pieces.append(value[done:])
    if positions is not None:
        spots.extend(positions[done:])
    return ir.Text(
        value="".join(pieces), span=text.span, positions=tuple(spots) if positions else None
    )
