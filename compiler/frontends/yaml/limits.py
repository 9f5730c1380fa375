"""The YAML twins of `.mmo`'s `limit` and `budget` statements:

    limits:
      openai/gpt-4o: {rpm: 500, tpm: 200000, concurrency: 16}
      anthropic: {rpm: 50}
    budget: 0.50

Numbers are kept as written; the checks judge them (MMO820-MMO839).
"""

from __future__ import annotations

from yaml.nodes import Node

from ... import ir
from .reader import Reader

LIMIT_FIELDS = ("rpm", "tpm", "concurrency", "burst")


def read_limits(r: Reader, node: Node) -> tuple[ir.RateLimit, ...] | None:
    fields = r.mapping(node, "`limits` (model or provider: {rpm, tpm, concurrency, burst})")
    if fields is None:
        return None
    found: list[ir.RateLimit | None] = []
    for target, (key, value) in fields.entries.items():
        what = f"limit `{target}`"
        body = r.mapping(value, what)
        if body is None:
            found.append(None)
            continue
        r.known(body, LIMIT_FIELDS, what)
        numbers = {name: r.number(n, name, what) for name in LIMIT_FIELDS
                   if (n := body.get(name)) is not None}
        if any(v is None for v in numbers.values()):
            found.append(None)
            continue
        found.append(ir.RateLimit(target=target, span=r.span(key), rpm=numbers.get("rpm"),
                                  tpm=numbers.get("tpm"), burst=numbers.get("burst"),
                                  concurrency=numbers.get("concurrency")))
    return None if any(f is None for f in found) else tuple(f for f in found if f)


def read_budget(r: Reader, node: Node) -> float | None:
    amount = r.number(node, "budget", "the pipeline")
    return None if amount is None else float(amount)
