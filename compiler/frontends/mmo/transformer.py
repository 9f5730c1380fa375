"""The .mmo parse tree to the IR: one method per grammar rule, called by `parse._transform`.

Never raises on a user mistake: every problem becomes a diagnostic in `self.diagnostics`
and a best-effort node takes its place, so the checks after it can still report theirs.
Field rules return `Field`s; the step and pipeline rules gather them, so a duplicate or a
misplaced field gets a message naming it instead of a bare syntax error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lark import Token
from lark.tree import Meta

from ... import ir
from ...diagnostics.model import Label
from ...source import Span
from . import maps
from .statements import RulesBase
from .testing import TestRules

# The fields of an llm step: the grammar's `<name>_field` rules (a test keeps them equal).
LLM_FIELDS = frozenset(
    {
        "prompt",
        "system",
        "temperature",
        "max_tokens",
        "stop",
        "after",
        "when",
        "retry",
        "fallback",
        "breaker",
        "timeout",
        "json",
        "cache",
    }
)
CONTROL_FIELDS = frozenset({"after", "when", "timeout"})
GROUP_ARGS: dict[str, tuple[str, tuple[str, ...]]] = {"concurrency": ("concurrency", ("number",))}


@dataclass
class Field:
    """One statement of a step body (or a `default`): its name, value and where it was."""

    name: str
    value: Any
    span: Span
    comments: tuple[str, ...] = ()
    has_node: bool = True  # False: the comments must go to the enclosing step
    value_span: Span | None = None  # where a plain value (a number, a duration) was written


@dataclass
class Item:
    """A pipeline-level statement that is not itself an IR node (version, output, ...)."""

    name: str
    value: Any
    span: Span
    comments: tuple[str, ...] = field(default=())


class MmoBuilder(TestRules, RulesBase):
    """Statements: step fields, steps, groups and the pipeline (`test` blocks: TestRules)."""

    # ---- step fields -------------------------------------------------------------------

    def _field(
        self, meta: Meta, name: str, value: Any, has_node: bool = True,
        value_span: Span | None = None,
    ) -> Field:
        return Field(name, value, self.span(meta), self.comments_at(meta), has_node, value_span)

    def prompt_field(self, meta: Meta, c: list[Any]) -> Field:
        return self._field(meta, "prompt", c[0])

    def system_field(self, meta: Meta, c: list[Any]) -> Field:
        return self._field(meta, "system", c[0])

    def temperature_field(self, meta: Meta, c: list[Token]) -> Field:
        return self._field(meta, "temperature", self.number_of(c[0]), has_node=False,
                           value_span=self.tspan(c[0]))

    def max_tokens_field(self, meta: Meta, c: list[Token]) -> Field:
        return self._field(meta, "max_tokens", self.number_of(c[0]), has_node=False,
                           value_span=self.tspan(c[0]))

    def stop_field(self, meta: Meta, c: list[Any]) -> Field:
        stops = tuple(self.decode(t).value for t in c if t is not None)
        return self._field(meta, "stop", stops, has_node=False)

    def after_field(self, meta: Meta, c: list[ir.Ident]) -> Field:
        return self._field(meta, "after", tuple(c))

    def when_field(self, meta: Meta, c: list[Any]) -> Field:
        return self._field(meta, "when", self.as_expr(c[0]))

    def retry_field(self, meta: Meta, c: list[Any]) -> Field:
        name, args = c
        if args is None:
            value: Any = ir.PolicyRef(name=str(name), span=self.tspan(name))
        else:
            value = self.values.retry_policy(None, name, args, self.span(meta))
        return self._field(meta, "retry", value)

    def breaker_field(self, meta: Meta, c: list[Any]) -> Field:
        if isinstance(c[0], Token):
            value: Any = ir.PolicyRef(name=str(c[0]), span=self.tspan(c[0]))
        else:
            value = self.values.breaker_policy(None, c[0], self.span(meta))
        return self._field(meta, "breaker", value)

    def fallback_field(self, meta: Meta, c: list[Any]) -> Field:
        return self._field(meta, "fallback", tuple(m for m in c if m is not None))

    def timeout_field(self, meta: Meta, c: list[Token]) -> Field:
        return self._field(meta, "timeout", self.seconds(c[0]), has_node=False,
                           value_span=self.tspan(c[0]))

    def json_field(self, meta: Meta, c: list[Any]) -> Field:
        valid, schema = (False, None) if c[0] is None else self.values.to_json(c[0], "a schema")
        if not valid or not isinstance(schema, dict):
            schema = None
        return self._field(meta, "json", ir.OutputSpec(schema=schema, span=self.span(meta)))

    def cache_field(self, meta: Meta, c: list[Any]) -> Field:
        word, amount = c
        setting, span = str(word), self.span(meta)
        policy = ir.CachePolicy(span=span)
        if setting == "ttl" and amount is not None:
            policy = ir.CachePolicy(ttl=self.seconds(amount), span=span)
        elif setting in ("on", "off") and amount is None:
            policy = ir.CachePolicy(enabled=setting == "on", span=span)
        elif setting == "ttl":
            self.error("MMO840", "`cache ttl` needs a duration", span,
                       help="write `cache ttl: 1h` (or ms, s, m)")
        else:
            self.error("MMO840", f"`cache {setting}{':' if amount is not None else ''}` is not "
                       "a cache setting", self.tspan(word),
                       help="write `cache ttl: 1h` (served for an hour), `cache on` (until "
                            "cleared) or `cache off`")
        return self._field(meta, "cache", policy, has_node=False)

    def body(self, meta: Meta, c: list[Any]) -> list[Any]:
        return list(c)

    # ---- steps -------------------------------------------------------------------------

    def llm_kind(self, meta: Meta, c: list[Any]) -> tuple[str, Any, list[Any]]:
        return ("llm", c[0], c[1])

    def all_keys(self, meta: Meta, c: list[Any]) -> Span:
        return self.span(meta)

    def transform_kind(self, meta: Meta, c: list[Any]) -> tuple[str, Any, list[Any]]:
        func, _reads, *rest = c
        body = rest[-1] if rest and isinstance(rest[-1], list) else None
        reads = tuple(r for r in rest if isinstance(r, ir.Ident))
        stars = [r for r in rest if isinstance(r, Span)]
        for extra in stars[1:]:
            self.error("MMO107", "`*` is given twice", extra)
        return ("transform", (func, reads, bool(stars)), body or [])

    def map_kind(self, meta: Meta, c: list[Any]) -> tuple[str, Any, list[Any]]:
        return maps.map_kind(meta, c)

    def map_collect(self, meta: Meta, c: list[ir.Ident]) -> Field:
        return self._field(meta, "collect", c[0])

    def gather(
        self, body: list[Any], allowed: frozenset[str], what: str, step_name: str
    ) -> tuple[dict[str, Field], list[Any], tuple[str, ...]]:
        """Split a body into fields (reporting duplicates and misplaced ones) and member steps.

        Returns the fields by name, the member steps, and the comments of fields that carry
        no IR node of their own (they move to the step).
        """
        fields: dict[str, Field] = {}
        members: list[Any] = []
        stray: list[str] = []
        for item in body:
            if not isinstance(item, Field):
                members.append(item)
                continue
            if not item.has_node or item.value == ():
                stray.extend(item.comments)  # nothing of its own to carry them (`fallback []`)
            if item.name not in allowed:
                self.error(
                    "MMO004",
                    f"`{item.name}` is not a field of {what} `{step_name}`",
                    item.span,
                    help=f"{what} takes: {', '.join(sorted(allowed))}",
                )
            elif item.name == "after" and "after" in fields:
                first = fields["after"]
                fields["after"] = Field(
                    "after", first.value + item.value, first.span, first.comments + item.comments
                )
            elif item.name in fields:
                self.error(
                    "MMO107",
                    f"`{item.name}` is given twice in `{step_name}`",
                    item.span,
                    labels=(Label(fields[item.name].span, "first given here"),),
                )
            else:
                fields[item.name] = item
        return fields, members, tuple(stray)

    def _with_comments(self, node: Any, comments: tuple[str, ...]) -> Any:
        if node is None or not comments:
            return node
        return node.model_copy(update={"comments": comments + node.comments})

    def _value(self, fields: dict[str, Field], name: str, default: Any = None) -> Any:
        f = fields.get(name)
        if f is None:
            return default
        if not f.has_node or f.value == ():
            return f.value
        if isinstance(f.value, tuple):
            first = self._with_comments(f.value[0], f.comments)
            return (first, *f.value[1:])
        return self._with_comments(f.value, f.comments)

    def step(self, meta: Meta, c: list[Any]) -> ir.LlmStep | ir.TransformStep | ir.MapStep:
        name_tok, (kind, head, body), key_tok = c
        name, name_span = str(name_tok), self.tspan(name_tok)
        if kind == "map":
            return maps.map_step(self, head, body, self._step_common(meta, c))
        allowed = LLM_FIELDS if kind == "llm" else CONTROL_FIELDS
        what = "an llm step" if kind == "llm" else "a transform step"
        fields, members, stray = self.gather(body, allowed, what, name)
        for m in members:
            self.error(
                "MMO004",
                f"step `{m.name}` is inside step `{name}`",
                m.name_span,
                help="only a `parallel` group holds steps",
            )
        common: dict[str, Any] = {
            "name": name,
            "name_span": name_span,
            "output_key": str(key_tok) if key_tok is not None else f"{name}_output",
            "output_key_span": self.tspan(key_tok) if key_tok is not None else name_span,
            "after": self._value(fields, "after", ()),
            "when": self._value(fields, "when"),
            "timeout": self._value(fields, "timeout"),
            "span": self.span(meta),
            "comments": self.comments_at(meta) + stray,
            "field_spans": _value_spans(fields),
        }
        if kind == "transform":
            func, reads, whole_context = head
            return ir.TransformStep(
                function=str(func), reads=reads, pass_context=whole_context, **common
            )
        prompt = self._value(fields, "prompt")
        if prompt is None:
            self.error(
                "MMO005",
                f"llm step `{name}` has no prompt",
                name_span,
                help='add `prompt "..."` to its body',
            )
            prompt = ir.Text(value="", span=name_span)
        output = self._value(fields, "json")
        return ir.LlmStep(
            model=head,
            prompt=prompt,
            system=self._value(fields, "system"),
            temperature=self._value(fields, "temperature"),
            max_tokens=self._value(fields, "max_tokens"),
            stop=self._value(fields, "stop", ()),
            retry=self._value(fields, "retry"),
            fallback=self._value(fields, "fallback"),
            breaker=self._value(fields, "breaker"),
            output=output,
            cache=self._value(fields, "cache"),
            **common,
        )

    def _step_common(self, meta: Meta, c: list[Any]) -> dict[str, Any]:
        """A map step's name, key and place (its control fields come from its body)."""
        name_tok, _kind, key_tok = c
        name, name_span = str(name_tok), self.tspan(name_tok)
        return {
            "name": name,
            "name_span": name_span,
            "output_key": str(key_tok) if key_tok is not None else f"{name}_output",
            "output_key_span": self.tspan(key_tok) if key_tok is not None else name_span,
            "span": self.span(meta),
            "comments": self.comments_at(meta),
        }

    def group(self, meta: Meta, c: list[Any]) -> ir.GroupStep:
        name_tok, args, body, key_tok = c
        name = str(name_tok)
        fields, members, stray = self.gather(body, CONTROL_FIELDS, "a parallel group", name)
        arg_spans: dict[str, Span] = {}
        settings = self.values.named_args(args or [], GROUP_ARGS, "a group", arg_spans)
        return ir.GroupStep(
            name=name,
            name_span=self.tspan(name_tok),
            # `<name>_output` by default, like every step (the seed's rule).
            output_key=str(key_tok) if key_tok is not None else f"{name}_output",
            output_key_span=self.tspan(key_tok) if key_tok is not None else self.tspan(name_tok),
            after=self._value(fields, "after", ()),
            when=self._value(fields, "when"),
            timeout=self._value(fields, "timeout"),
            steps=tuple(members),
            concurrency=settings.get("concurrency"),
            span=self.span(meta),
            field_spans=_value_spans(fields) + tuple(arg_spans.items()),
            comments=self.comments_at(meta) + stray,
        )

    # ---- pipeline-level statements -----------------------------------------------------

    def version(self, meta: Meta, c: list[Token]) -> Item:
        return Item("version", self.decode(c[0]).value, self.span(meta), self.comments_at(meta))

    def description(self, meta: Meta, c: list[ir.Text]) -> Item:
        return Item("description", c[0].value, self.span(meta), self.comments_at(meta))

    def metadata(self, meta: Meta, c: list[Any]) -> Item:
        valid, data = self.values.to_json(c[0], "metadata")
        return Item("metadata", data if valid and isinstance(data, dict) else {},
                    self.span(meta), self.comments_at(meta))

    def list_type(self, meta: Meta, c: list[Token]) -> str:
        return f"{c[0]}[{c[1]}]"  # `list[str]`: the type name as written, judged by a check

    def input_decl(self, meta: Meta, c: list[Any]) -> ir.Input:
        name, type_tok, default = c
        valid, value = (False, None) if default is None else self.values.to_json(
            default, "an input default"
        )
        return ir.Input(
            name=str(name),
            type=str(type_tok) if type_tok is not None else None,
            default=value if valid else None,
            has_default=valid,  # a default in error was reported: it is left out
            span=self.span(meta),
            comments=self.comments_at(meta),
        )

    def output_decl(self, meta: Meta, c: list[ir.Ident]) -> Item:
        return Item("output", tuple(c), self.span(meta), self.comments_at(meta))

    def model_alias(self, meta: Meta, c: list[Any]) -> ir.ModelAlias:
        return ir.ModelAlias(
            name=str(c[0]), model=c[1], span=self.span(meta), comments=self.comments_at(meta)
        )

    def endpoint(self, meta: Meta, c: list[Any]) -> ir.Endpoint | None:
        node = self.values.endpoint(c[0], c[1], c[2], self.span(meta))
        return self._with_comments(node, self.comments_at(meta))  # type: ignore[no-any-return]

    def retry_def(self, meta: Meta, c: list[Any]) -> ir.RetryPolicy:
        node = self.values.retry_policy(str(c[0]), c[1], c[2], self.span(meta))
        return self._with_comments(node, self.comments_at(meta))  # type: ignore[no-any-return]

    def breaker_def(self, meta: Meta, c: list[Any]) -> ir.BreakerPolicy:
        node = self.values.breaker_policy(str(c[0]), c[1], self.span(meta))
        return self._with_comments(node, self.comments_at(meta))  # type: ignore[no-any-return]

    def limit_stmt(self, meta: Meta, c: list[Any]) -> ir.RateLimit:
        node = self.values.rate_limit(c[0], c[1], self.span(meta))
        return self._with_comments(node, self.comments_at(meta))  # type: ignore[no-any-return]

    def budget_stmt(self, meta: Meta, c: list[Token]) -> Item:
        amount = self.number_of(Token.new_borrow_pos("NUMBER", str(c[0]).replace("$", "", 1),
                                                     c[0]))
        value = float(amount) if amount is not None else None
        return Item("budget", value, self.span(meta), self.comments_at(meta))

    def default_stmt(self, meta: Meta, c: list[Field]) -> Item:
        f = c[0]
        return Item("default", f, self.span(meta), self.comments_at(meta) + f.comments)

    def pipeline(self, meta: Meta, c: list[Any]) -> ir.Pipeline:
        name_tok, *items = c
        singles: dict[str, Item] = {}
        defaults: dict[str, Field] = {}
        default_comments: list[str] = []
        extra_comments: list[str] = []
        outputs: list[ir.Ident] = []
        steps: list[ir.Step] = []  # in source order, as they come
        declared: dict[type, list[Any]] = {}  # inputs, models, providers, policies by type
        for item in items:
            if item is None:
                continue
            if isinstance(item, (ir.LlmStep, ir.TransformStep, ir.GroupStep, ir.MapStep)):
                steps.append(item)
            elif not isinstance(item, Item):
                declared.setdefault(type(item), []).append(item)
            elif item.name == "output":
                first = self._with_comments(item.value[0], item.comments)
                outputs.extend((first,) + item.value[1:])
            elif item.name == "default":
                f: Field = item.value
                default_comments.extend(item.comments)
                key = f.name
                if key in defaults:
                    self.error(
                        "MMO107",
                        f"`default {key}` is given twice",
                        item.span,
                        labels=(Label(defaults[key].span, "first given here"),),
                    )
                defaults[key] = Field(key, f.value, item.span, value_span=f.value_span)
            elif item.name in singles:
                self.error(
                    "MMO107",
                    f"`{item.name}` is given twice",
                    item.span,
                    labels=(Label(singles[item.name].span, "first given here"),),
                )
            else:
                singles[item.name] = item
                extra_comments.extend(item.comments)
        inputs = tuple(declared.get(ir.Input, []))
        return ir.Pipeline(
            name=str(name_tok),
            version=singles["version"].value if "version" in singles else None,
            description=singles["description"].value if "description" in singles else None,
            metadata=singles["metadata"].value if "metadata" in singles else {},
            inputs_declared=bool(inputs),
            inputs=inputs,
            outputs=tuple(outputs),
            models=tuple(declared.get(ir.ModelAlias, [])),
            providers=tuple(declared.get(ir.Endpoint, [])),
            retry_policies=tuple(declared.get(ir.RetryPolicy, [])),
            breaker_policies=tuple(declared.get(ir.BreakerPolicy, [])),
            defaults=ir.Defaults(
                retry=defaults["retry"].value if "retry" in defaults else None,
                breaker=defaults["breaker"].value if "breaker" in defaults else None,
                timeout=defaults["timeout"].value if "timeout" in defaults else None,
                cache=defaults["cache"].value if "cache" in defaults else None,
                comments=tuple(default_comments),
                field_spans=_value_spans(defaults),
            ),
            steps=tuple(steps),
            limits=tuple(declared.get(ir.RateLimit, [])),
            budget=singles["budget"].value if "budget" in singles else None,
            tests=tuple(declared.get(ir.Test, [])),
            span=self.span(meta),
            comments=self.comments_at(meta) + tuple(extra_comments),
        )


def _value_spans(fields: dict[str, Field]) -> tuple[tuple[str, Span], ...]:
    """The IR's `field_spans` of a body: where each plain value was written."""
    return tuple((f.name, f.value_span) for f in fields.values() if f.value_span is not None)
