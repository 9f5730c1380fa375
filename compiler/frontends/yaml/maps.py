"""Map steps in YAML: a step with `type: map`.

```yaml
- name: summaries
  type: map
  for_each: chunks        # the key holding the list
  as: chunk               # the item's name in the body (default `item`)
  concurrency: 8
  on_error: collect       # fail | skip | collect
  limit: 100              # optional: the first 100 items only
  collect: summary        # optional: the body key that is each item's result
  steps: [...]            # the body: llm and transform steps
  output_key: summaries
```
"""

from __future__ import annotations

from typing import Any

from ... import ir
from .reader import Fields

MAP_FIELDS = (
    "name", "type", "step_type", "output_key", "depends_on", "after", "condition", "when",
    "timeout_seconds", "timeout", "for_each", "as", "steps", "concurrency", "on_error", "limit",
    "collect",
)  # fmt: skip
BODY_TYPES = ("llm", "transform", "conditional")


def read_map(builder: Any, fields: Fields, what: str) -> dict[str, Any] | None:
    """The fields of a map step beyond the common ones; None when one could not be read.

    `builder` is the YAML front end's step builder (`parse._Builder`, which imports this
    module), used to read the body's steps as any other steps."""
    r = builder.r
    out: dict[str, Any] = {}
    source = r.require(fields, ("for_each",), what)
    if source is not None:
        out["for_each"] = r.ident(source[1], "for_each", what)
    body = r.require(fields, ("steps",), what)
    if body is not None:
        out["steps"] = builder.steps(body[1], BODY_TYPES, "steps", what)
    item_node = fields.get("as")
    if item_node is not None:
        item = r.ident(item_node, "as", what)
        out["item"] = None if item is None else item.name
        out["item_span"] = None if item is None else item.span
    builder.optional(fields, what, out, (
        ("concurrency", "concurrency", r.integer),
        ("on_error", "on_error", r.string),
        ("limit", "limit", r.integer),
        ("collect", "collect", r.ident),
    ))  # fmt: skip
    if source is None or body is None or any(v is None for k, v in out.items() if k != "item_span"):
        return None
    return out


def map_fields(s: ir.MapStep) -> dict[str, Any]:
    """The YAML printer's fields of a map step (after the common ones), in schema order."""
    out: dict[str, Any] = {"for_each": s.for_each.name}
    if s.item != "item":
        out["as"] = s.item
    if s.concurrency is not None:
        out["concurrency"] = s.concurrency
    if s.on_error != "fail":
        out["on_error"] = s.on_error
    if s.limit is not None:
        out["limit"] = s.limit
    if s.collect is not None:
        out["collect"] = s.collect.name
    return out
