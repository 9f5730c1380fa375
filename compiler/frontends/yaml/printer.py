"""The IR printed as canonical YAML (for `mmoc convert`).

Seed fields where the seed schema can say a thing (`depends_on`, `condition: equals:k:v`,
`timeout_seconds`, `max_retries`), the extensions otherwise. Deterministic: the same IR always
prints the same text, and `parse_yaml(print_yaml(p))` dumps to the same dict as `p`. Multi-line
prompts print as block literals when YAML can hold them exactly that way.
"""

from __future__ import annotations

from typing import Any

import yaml

from ... import ir
from ..mmo.printer import expectation_text
from .conditions import condition_text
from .maps import map_fields
from .testing import is_plain_expectation

_RETRY_DEFAULTS = ir.RetryPolicy()
_BREAKER_DEFAULTS = ir.BreakerPolicy()

# IR attribute → YAML field, in printing order (defaults left out).
_RETRY_FIELDS = (
    ("max_retries", "max_retries"),
    ("backoff", "backoff"),
    ("base_delay", "base_delay_seconds"),
    ("multiplier", "multiplier"),
    ("max_delay", "max_delay_seconds"),
    ("jitter", "jitter"),
)
_BREAKER_FIELDS = (
    ("failure_threshold", "failure_threshold"),
    ("recovery_timeout", "recovery_timeout_seconds"),
    ("half_open_max_calls", "half_open_max_calls"),
)


def print_yaml(p: ir.Pipeline) -> str:
    # `tests` follows `steps`: a blank line before it, none between it and its first test.
    text = _space_steps(_dump(_pipeline(p)))
    return text.replace("\ntests:\n\n  - name: ", "\n\ntests:\n  - name: ", 1)


def _dump(data: dict[str, Any]) -> str:
    return yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=4096,  # no folding of long prompts: a reviewer reads them as written
        indent=2,
    )


# Unicode line breaks: YAML folds them like "\n" inside quotes, so they must be escaped.
_UNICODE_BREAKS = ("\x85", "\u2028", "\u2029")


def _space_steps(text: str) -> str:
    """A blank line between top-level steps, as the seed's templates are laid out.

    `steps` is printed last, and only a top-level step starts a line with `  - name: `: any
    deeper text (members, block literal lines) is indented further."""
    head, marker, body = text.partition("\nsteps:\n")
    if not marker:
        return text
    items = body.split("\n  - name: ")
    return head + marker + "\n\n  - name: ".join(items)


class _Dumper(yaml.SafeDumper):
    """Safe dumping, block literals for multi-line text, lists indented under their key."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)

    def write_double_quoted(self, text: str, split: bool = True) -> None:
        # With allow_unicode PyYAML writes U+2028/U+2029 raw, and a reader folds them: escape
        # everything non-ASCII in the (rare) strings that hold one.
        if not any(b in text for b in _UNICODE_BREAKS):
            super().write_double_quoted(text, split)
            return
        saved, self.allow_unicode = self.allow_unicode, False
        try:
            super().write_double_quoted(text, split)
        finally:
            self.allow_unicode = saved


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # PyYAML falls back to a quoted style by itself when a literal cannot hold the text exactly.
    style: str | None = "|" if "\n" in value.rstrip("\n") else None
    if any(b in value for b in _UNICODE_BREAKS):
        style = '"'
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def _pipeline(p: ir.Pipeline) -> dict[str, Any]:
    out: dict[str, Any] = {"name": p.name}
    _put(out, "version", p.version)
    _put(out, "description", p.description)
    if p.metadata:
        out["metadata"] = p.metadata
    if p.inputs_declared:
        out["inputs"] = _inputs(p.inputs)
    if p.outputs:
        out["outputs"] = [i.name for i in p.outputs]
    if p.models:
        out["models"] = {a.name: a.model.id for a in p.models}
    if p.providers:
        out["providers"] = {e.name: _endpoint(e) for e in p.providers}
    if p.retry_policies:
        out["retry_policies"] = {r.name or "": _retry_fields(r) for r in p.retry_policies}
    if p.breaker_policies:
        out["breaker_policies"] = {b.name or "": _breaker_fields(b) for b in p.breaker_policies}
    defaults = _defaults(p.defaults)
    if defaults:
        out["defaults"] = defaults
    if p.limits:
        out["limits"] = {lim.target: {k: v for k in ("rpm", "tpm", "concurrency", "burst")
                                      if (v := getattr(lim, k)) is not None}
                         for lim in p.limits}
    _put(out, "budget", p.budget)
    out["steps"] = [_step(s) for s in p.steps]
    if p.tests:
        out["tests"] = [_test(t) for t in p.tests]
    return out


def _test(t: ir.Test) -> dict[str, Any]:
    out: dict[str, Any] = {"name": t.name}
    if t.inputs:
        out["inputs"] = {i.name.name: _plain(i.value) for i in t.inputs}
    if t.replies:
        out["replies"] = {i.name.name: _plain(i.value) for i in t.replies}
    if t.expectations:
        out["expect"] = [_expectation(e) for e in t.expectations]
    return out


def _expectation(e: ir.Expectation) -> Any:
    if is_plain_expectation(e):
        return expectation_text(e)
    if isinstance(e, ir.ExpectSchema):
        return {"key": e.key.name, "schema": _plain(e.schema_)}
    assert isinstance(e, ir.ExpectJudged)
    return {"key": e.key.name, "judged_by": e.model.id, "criteria": e.criteria}


def _put(out: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        out[key] = value


def _inputs(inputs: tuple[ir.Input, ...]) -> list[str] | dict[str, Any]:
    if all(i.type is None and not i.has_default for i in inputs):
        return [i.name for i in inputs]
    out: dict[str, Any] = {}
    for i in inputs:
        if not i.has_default:
            out[i.name] = i.type  # a type name, or null
        else:
            body: dict[str, Any] = {}
            _put(body, "type", i.type)
            body["default"] = _plain(i.default)
            out[i.name] = body
    return out


def _endpoint(e: ir.Endpoint) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": e.kind, "base_url": e.base_url}
    _put(out, "api_key_env", e.api_key_env)
    return out


def _defaults(d: ir.Defaults) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if d.retry is not None:
        out["retry"] = _retry(d.retry)
    if d.breaker is not None:
        out["breaker"] = _breaker(d.breaker)
    _put(out, "timeout_seconds", d.timeout)
    if d.cache is not None:
        out["cache"] = _cache(d.cache)
    return out


def _cache(c: ir.CachePolicy) -> Any:
    """`true`, `false` or `{ttl_seconds: N}`."""
    return c.enabled if c.ttl is None or not c.enabled else {"ttl_seconds": c.ttl}


def _retry(setting: ir.RetryPolicy | ir.PolicyRef) -> Any:
    return setting.name if isinstance(setting, ir.PolicyRef) else _retry_fields(setting)


def _breaker(setting: ir.BreakerPolicy | ir.PolicyRef) -> Any:
    return setting.name if isinstance(setting, ir.PolicyRef) else _breaker_fields(setting)


def _retry_fields(r: ir.RetryPolicy) -> dict[str, Any]:
    out = _changed(r, _RETRY_DEFAULTS, _RETRY_FIELDS)
    if r.retry_on:
        out["retry_on"] = [k.name for k in r.retry_on]
    return out


def _breaker_fields(b: ir.BreakerPolicy) -> dict[str, Any]:
    return _changed(b, _BREAKER_DEFAULTS, _BREAKER_FIELDS)


def _changed(
    policy: ir.Node, defaults: ir.Node, fields: tuple[tuple[str, str], ...]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for attr, key in fields:
        value = getattr(policy, attr)
        default = getattr(defaults, attr)
        if type(value) is not type(default) or value != default:
            out[key] = _plain(value)
    return out


def _step(s: ir.LlmStep | ir.TransformStep | ir.GroupStep | ir.MapStep) -> dict[str, Any]:
    out: dict[str, Any] = {"name": s.name}
    if isinstance(s, ir.LlmStep):
        _llm(out, s)
    elif isinstance(s, ir.TransformStep):
        out["type"] = "transform"
        out["function"] = s.function
        if s.reads:
            out["reads"] = [i.name for i in s.reads]
        if s.pass_context:
            out["pass_context"] = True
    elif isinstance(s, ir.MapStep):
        out["type"] = "map"
        out.update(map_fields(s))
        out["steps"] = [_step(m) for m in s.steps]
    else:
        out["type"] = "parallel_group"
        _put(out, "concurrency", s.concurrency)
        out["steps"] = [_step(m) for m in s.steps]
    _put(out, "output_key", s.output_key)
    if len(s.after) == 1:
        out["depends_on"] = s.after[0].name
    elif s.after:
        out["depends_on"] = [i.name for i in s.after]
    if s.when is not None:
        out["condition"] = condition_text(s.when)
    _put(out, "timeout_seconds", s.timeout)
    if isinstance(s, ir.LlmStep):
        _llm_policies(out, s)
    return out


def _llm(out: dict[str, Any], s: ir.LlmStep) -> None:
    out["model"] = s.model.id
    if s.system is not None:
        out["system"] = s.system.value
    out["prompt"] = s.prompt.value
    _put(out, "temperature", s.temperature)
    _put(out, "max_tokens", s.max_tokens)
    if s.stop:
        out["stop"] = list(s.stop)
    if s.output is not None:
        if s.output.schema_ is None:
            out["json"] = True
        else:
            out["schema"] = _plain(s.output.schema_)


def _llm_policies(out: dict[str, Any], s: ir.LlmStep) -> None:
    retry = s.retry
    if isinstance(retry, ir.RetryPolicy) and _only_max_retries(retry):
        out["max_retries"] = retry.max_retries  # the seed's own spelling
    elif retry is not None:
        out["retry"] = _retry(retry)
    if s.fallback is not None:
        out["fallback"] = [m.id for m in s.fallback]
    if s.breaker is not None:
        out["breaker"] = _breaker(s.breaker)
    if s.cache is not None:
        out["cache"] = _cache(s.cache)


def _only_max_retries(r: ir.RetryPolicy) -> bool:
    fields = _retry_fields(r)
    return r.name is None and set(fields) <= {"max_retries"} and isinstance(r.max_retries, int)


def _plain(value: Any) -> Any:
    """Tuples as lists, so the safe dumper can write any JSON-like value."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
