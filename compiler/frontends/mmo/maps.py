"""Map steps in `.mmo`: `step NAME = map ITEM in KEY (options) { body } -> KEY`.

The rules of `grammar/mmo.lark` that only map steps use. `MmoBuilder.step` hands a map's
parts to `map_step`, which builds the `ir.MapStep`; the body's member steps were already
built by the ordinary `step` rule.
"""

from __future__ import annotations

from typing import Any

from lark import Token
from lark.tree import Meta

from ... import ir

# The options in parentheses after `map ITEM in KEY`: argument -> (IR field, value kinds).
MAP_ARGS: dict[str, tuple[str, tuple[str, ...]]] = {
    "concurrency": ("concurrency", ("number",)),
    "on_error": ("on_error", ("bare", "string")),
    "limit": ("limit", ("number",)),
}
# The fields of a map step's body besides its steps.
MAP_FIELDS = frozenset({"after", "when", "timeout", "collect"})


def map_kind(meta: Meta, c: list[Any]) -> tuple[str, Any, list[Any]]:
    item_tok, for_each, args, body = c
    return ("map", (item_tok, for_each, args or []), body)


def map_step(
    b: Any, head: Any, body: list[Any], common: dict[str, Any]
) -> ir.MapStep:
    """The map step from its head (item, list key, options) and its body, read by `b`, the
    tree builder (`transformer.MmoBuilder`, not imported: it imports this module)."""
    item_tok, for_each, args = head
    name = common["name"]
    fields, members, stray = b.gather(body, MAP_FIELDS, "a map step", name)
    steps = []
    for member in members:
        if isinstance(member, (ir.LlmStep, ir.TransformStep)):
            steps.append(member)
        else:
            b.error(
                "MMO004",
                f"step `{member.name}` in the body of map step `{name}` is itself a map",
                member.name_span,
                help="a map body holds llm and transform steps; map over the inner list in a "
                "separate map step",
            )
    settings = b.values.named_args(args, MAP_ARGS, "a map step")
    if "on_error" in settings:
        settings["on_error"] = str(settings["on_error"])
    return ir.MapStep(
        for_each=for_each,
        item=str(item_tok),
        item_span=b.tspan(item_tok) if isinstance(item_tok, Token) else None,
        steps=tuple(steps),
        collect=b._value(fields, "collect"),
        after=b._value(fields, "after", ()),
        when=b._value(fields, "when"),
        timeout=b._value(fields, "timeout"),
        **settings,
        **{**common, "comments": common["comments"] + stray},
    )
