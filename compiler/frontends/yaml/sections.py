"""The YAML schema's pipeline-level sections and policies (the extensions to the seed schema).

`inputs`, `outputs`, `models`, `providers`, `retry_policies`, `breaker_policies`, `defaults`,
and the retry and breaker settings a step or `defaults` gives: a policy name, or a mapping.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from yaml.nodes import MappingNode, Node, ScalarNode

from ... import ir
from ...source import Span
from .nodes import BOOL_TAG, is_null, is_str, scalar_value
from .reader import Reader

RETRY_FIELDS = (
    "max_retries",
    "backoff",
    "base_delay_seconds",
    "multiplier",
    "max_delay_seconds",
    "jitter",
    "retry_on",
)
BREAKER_FIELDS = ("failure_threshold", "recovery_timeout_seconds", "half_open_max_calls")
INPUT_FIELDS = ("type", "default")
ENDPOINT_FIELDS = ("kind", "base_url", "api_key_env")
DEFAULTS_FIELDS = ("retry", "breaker", "timeout_seconds", "timeout", "cache")
CACHE_FIELDS = ("ttl_seconds", "ttl")


def read_inputs(r: Reader, node: Node) -> tuple[ir.Input, ...] | None:
    """`inputs: [a, b]`, or `inputs: {a: str, b: {type: int, default: 3}, c: null}`."""
    if isinstance(node, MappingNode):
        fields = r.mapping(node, "`inputs`")
        if fields is None:
            return None
        found = [_input(r, name, key, value) for name, (key, value) in fields.entries.items()]
        return None if any(i is None for i in found) else tuple(i for i in found if i)
    names = r.idents(node, "inputs", "the pipeline")
    if names is None:
        return None
    return tuple(ir.Input(name=n.name, span=n.span) for n in names)


def _input(r: Reader, name: str, key: ScalarNode, value: Node) -> ir.Input | None:
    what = f"input `{name}`"
    if is_null(value):
        return ir.Input(name=name, span=r.span(key))
    if is_str(value):
        assert isinstance(value, ScalarNode)
        return ir.Input(name=name, type=value.value, span=r.span(key))
    if isinstance(value, ScalarNode):
        r.wrong_type(value, name, "`inputs`", "a type name, null or a mapping {type, default}")
        return None
    fields = r.mapping(value, what)
    if fields is None:
        return None
    r.known(fields, INPUT_FIELDS, what)
    type_node = fields.get("type")
    type_name = None if type_node is None else r.string(type_node, "type", what)
    if type_node is not None and type_name is None:
        return None
    default_node = fields.get("default")
    if default_node is None:
        return ir.Input(name=name, type=type_name, span=r.span(key))
    ok, default = r.value(default_node, "default", what)
    if not ok:
        return None
    return ir.Input(name=name, type=type_name, default=default, has_default=True, span=r.span(key))


def read_aliases(r: Reader, node: Node) -> tuple[ir.ModelAlias, ...] | None:
    fields = r.mapping(node, "`models` (alias: model id)")
    if fields is None:
        return None
    found = []
    for name, (key, value) in fields.entries.items():
        model = r.model(value, name, "`models`")
        if model is None:
            return None
        found.append(ir.ModelAlias(name=name, model=model, span=r.span(key)))
    return tuple(found)


def read_endpoints(r: Reader, node: Node) -> tuple[ir.Endpoint, ...] | None:
    fields = r.mapping(node, "`providers` (name: {kind, base_url, api_key_env})")
    if fields is None:
        return None
    found: list[ir.Endpoint | None] = []
    for name, (key, value) in fields.entries.items():
        what = f"provider `{name}`"
        body = r.mapping(value, what)
        if body is None:
            found.append(None)
            continue
        r.known(body, ENDPOINT_FIELDS, what)
        base = r.require(body, ("base_url",), what)
        base_url = None if base is None else r.string(base[1], "base_url", what)
        kind_node, env_node = body.get("kind"), body.get("api_key_env")
        kind = "openai-compatible" if kind_node is None else r.string(kind_node, "kind", what)
        env = None if env_node is None else r.string(env_node, "api_key_env", what)
        if base_url is None or kind is None or (env_node is not None and env is None):
            found.append(None)
            continue
        found.append(
            ir.Endpoint(name=name, kind=kind, base_url=base_url, api_key_env=env, span=r.span(key))
        )
    return None if any(e is None for e in found) else tuple(e for e in found if e)


def read_named_policies(
    r: Reader, node: Node, section: str
) -> tuple[ir.RetryPolicy, ...] | tuple[ir.BreakerPolicy, ...] | None:
    fields = r.mapping(node, f"`{section}` (name: settings)")
    if fields is None:
        return None
    read = retry_policy if section == "retry_policies" else breaker_policy
    found = [
        read(r, value, f"{section} `{name}`", name) for name, (_, value) in fields.entries.items()
    ]
    if any(p is None for p in found):
        return None
    return tuple(p for p in found if p)  # type: ignore[return-value]


_Policy = TypeVar("_Policy", ir.RetryPolicy, ir.BreakerPolicy)


def _setting(
    r: Reader,
    node: Node,
    what: str,
    field: str,
    read: Callable[[Reader, Node, str, str | None], _Policy | None],
) -> _Policy | ir.PolicyRef | None:
    """A step's or the defaults' `retry`/`breaker`: a policy name, or the settings inline."""
    if is_str(node):
        assert isinstance(node, ScalarNode)
        return ir.PolicyRef(name=node.value, span=r.span(node))
    if not isinstance(node, MappingNode):
        r.wrong_type(node, field, what, f"a {field} policy name or a mapping of settings")
        return None
    return read(r, node, what, None)


def retry_setting(r: Reader, node: Node, what: str) -> ir.RetryPolicy | ir.PolicyRef | None:
    return _setting(r, node, what, "retry", retry_policy)


def breaker_setting(r: Reader, node: Node, what: str) -> ir.BreakerPolicy | ir.PolicyRef | None:
    return _setting(r, node, what, "breaker", breaker_policy)


def retry_policy(r: Reader, node: Node, what: str, name: str | None) -> ir.RetryPolicy | None:
    fields = r.mapping(node, what)
    if fields is None:
        return None
    r.known(fields, RETRY_FIELDS, what)
    values: dict[str, object] = {}
    spans: dict[str, Span] = {}
    ok = True
    for field, attr, read in (
        ("max_retries", "max_retries", r.integer),
        ("backoff", "backoff", r.string),
        ("base_delay_seconds", "base_delay", r.duration),
        ("multiplier", "multiplier", r.number),
        ("max_delay_seconds", "max_delay", r.duration),
    ):
        value_node = fields.get(field)
        if value_node is not None:
            values[attr] = read(value_node, field, what)
            spans[attr] = r.span(value_node)
            ok = ok and values[attr] is not None
    jitter_node = fields.get("jitter")
    if jitter_node is not None:
        values["jitter"] = _jitter(r, jitter_node, what)
        spans["jitter"] = r.span(jitter_node)
        ok = ok and values["jitter"] is not None
    kinds_node = fields.get("retry_on")
    if kinds_node is not None:
        values["retry_on"] = r.idents(kinds_node, "retry_on", what)
        ok = ok and values["retry_on"] is not None
    if not ok:
        return None
    return ir.RetryPolicy(
        name=name, span=r.span(node), field_spans=tuple(spans.items()), **values  # type: ignore[arg-type]
    )


def _jitter(r: Reader, node: Node, what: str) -> str | None:
    """`none` or `full`; YAML booleans are accepted as `full` (true) and `none` (false)."""
    if isinstance(node, ScalarNode) and node.tag.endswith(":bool"):
        return "full" if r.boolean(node, "jitter", what) else "none"
    return r.string(node, "jitter", what)


def breaker_policy(r: Reader, node: Node, what: str, name: str | None) -> ir.BreakerPolicy | None:
    fields = r.mapping(node, what)
    if fields is None:
        return None
    r.known(fields, BREAKER_FIELDS, what)
    values: dict[str, object] = {}
    spans: dict[str, Span] = {}
    for field, attr, read in (
        ("failure_threshold", "failure_threshold", r.integer),
        ("recovery_timeout_seconds", "recovery_timeout", r.duration),
        ("half_open_max_calls", "half_open_max_calls", r.integer),
    ):
        value_node = fields.get(field)
        if value_node is not None:
            values[attr] = read(value_node, field, what)
            spans[attr] = r.span(value_node)
    if any(v is None for v in values.values()):
        return None
    return ir.BreakerPolicy(
        name=name, span=r.span(node), field_spans=tuple(spans.items()), **values  # type: ignore[arg-type]
    )


def read_defaults(r: Reader, node: Node) -> ir.Defaults | None:
    what = "`defaults`"
    fields = r.mapping(node, what)
    if fields is None:
        return None
    r.known(fields, DEFAULTS_FIELDS, what)
    retry_node, breaker_node = fields.get("retry"), fields.get("breaker")
    timeout = r.one_of(fields, ("timeout_seconds", "timeout"), what)
    retry = None if retry_node is None else retry_setting(r, retry_node, what)
    breaker = None if breaker_node is None else breaker_setting(r, breaker_node, what)
    seconds = None if timeout is None else r.duration(timeout[1], timeout[0], what)
    cache_node = fields.get("cache")
    cache = None if cache_node is None else cache_setting(r, cache_node, what)
    if (
        (retry_node is not None and retry is None)
        or (breaker_node is not None and breaker is None)
        or (timeout is not None and seconds is None)
        or (cache_node is not None and cache is None)
    ):
        return None
    spans = () if timeout is None else (("timeout", r.span(timeout[1])),)
    return ir.Defaults(
        retry=retry, breaker=breaker, timeout=seconds, cache=cache, span=r.span(node),
        field_spans=spans
    )


def cache_setting(r: Reader, node: Node, what: str) -> ir.CachePolicy | None:
    """`cache: true` (until cleared), `cache: false` (off) or `cache: {ttl: 1h}` (MMO840
    for anything else)."""
    if isinstance(node, ScalarNode) and node.tag == BOOL_TAG:
        return ir.CachePolicy(enabled=bool(scalar_value(node)), span=r.span(node))
    if not isinstance(node, MappingNode):
        r.error("MMO840", f"`cache` of {what} must be true, false or {{ttl: DURATION}}", node,
                help="write `cache: {ttl: 1h}`, `cache: true` (until cleared) or `cache: false`")
        return None
    fields = r.mapping(node, f"`cache` of {what}")
    if fields is None:
        return None
    r.known(fields, CACHE_FIELDS, f"`cache` of {what}")
    ttl = r.one_of(fields, CACHE_FIELDS, f"`cache` of {what}")
    if ttl is None:
        r.error("MMO840", f"`cache` of {what} gives no `ttl`", node,
                help="write `cache: {ttl: 1h}`, or `cache: true` for no expiry")
        return None
    seconds = r.duration(ttl[1], ttl[0], f"`cache` of {what}")
    return None if seconds is None else ir.CachePolicy(ttl=seconds, span=r.span(node))
