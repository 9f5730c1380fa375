"""Models and providers: malformed ids, unknown providers and models, endpoints."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from mmoc_runtime.catalog import BUILTIN_PROVIDERS, CATALOG, RETIRED, catalog_name

from .. import ir
from ..analysis import resolve_model
from ..diagnostics.model import Diagnostic
from ..identifiers import is_identifier
from ..source import Span
from .support import did_you_mean, first_span, listing, suggest

if TYPE_CHECKING:
    from mmoc_runtime.pricing import Price

    from ..config import Config

# Providers whose model names the catalog lists; others (mock, ollama, endpoints) take any name.
CATALOGUED = frozenset(CATALOG.values())
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@+-]*(/[A-Za-z0-9][A-Za-z0-9._:@+-]*)*$")
# A dated or tagged snapshot of a catalogued model: gpt-4o-2024-08-06, claude-3-5-haiku-latest.
_SNAPSHOT_RE = re.compile(r"^(?P<base>.+?)-(latest|preview|exp|\d{4}-?\d{2}-?\d{2}|\d{3,8})$")


# Models (`provider/model`) and providers a project declares in its configuration
# (`[tool.mmoc] models`, `providers`): a fine-tuned id, a local server. Set by the CLI around
# a run with `declared_models`; the checks accept them as they accept the catalog's, and the
# budget check costs them at their declared prices.
_DECLARED: ContextVar[tuple[frozenset[str], tuple[str, ...], Mapping[str, Price]]] = ContextVar(
    "declared_models", default=(frozenset(), (), {})
)


@contextmanager
def declared_models(config: Config) -> Iterator[None]:
    """Inside this block, the checks know what `config` declares."""
    token = _DECLARED.set((frozenset(config.models), config.providers, config.prices()))
    try:
        yield
    finally:
        _DECLARED.reset(token)


def declared_price(model: str) -> Price | None:
    """The price the configuration declares for `model` (`provider/name`), if any."""
    return _DECLARED.get()[2].get(model)


def model_refs(p: ir.Pipeline) -> Iterator[tuple[ir.ModelRef, str]]:
    """Every model reference with a phrase saying where it is used."""
    for alias in p.models:
        yield alias.model, f"model alias `{alias.name}`"
    for step in p.all_steps():
        if isinstance(step, ir.LlmStep):
            yield step.model, f"step `{step.name}`"
            for ref in step.fallback or ():
                yield ref, f"the fallback list of step `{step.name}`"


@dataclass(frozen=True)
class _Known:
    """What model references are judged against, built once per pipeline (not per reference:
    thousands of endpoints and aliases times thousands of references would be quadratic)."""

    providers: list[str]  # built-in, endpoints (in source order, for messages), configured
    provider_set: frozenset[str]
    bare_names: list[str]  # what a bare model name may mean: catalog names, then aliases
    declared: frozenset[str]  # `provider/model` ids the configuration declares

    @classmethod
    def of(cls, p: ir.Pipeline) -> _Known:
        declared, configured, _ = _DECLARED.get()
        providers = [*BUILTIN_PROVIDERS, *(e.name for e in p.providers), *configured]
        return cls(providers, frozenset(providers), [*CATALOG, *(a.name for a in p.models)],
                   declared)


def check_model_ids(p: ir.Pipeline) -> Iterator[Diagnostic]:
    known = _Known.of(p)
    aliases = {a.name for a in p.models}
    for ref, where in model_refs(p):
        if ref.id in aliases:
            continue  # judged where the alias is defined
        resolved = resolve_model(p, ref.id)
        yield from _judge(resolved, ref.span, where, known)


def _judge(model_id: str, span: Span | None, where: str, known: _Known) -> Iterator[Diagnostic]:
    base, _, query = model_id.partition("?")
    provider, slash, name = base.partition("/")
    if base in known.declared:
        return
    if not slash:
        if catalog_name(base) in CATALOG:
            yield from _retired(base, model_id, span, where)
            return
        if not base or not _NAME_RE.match(base):
            yield _malformed(model_id, span, where)
            return
        # A bare name the catalog does not know: a warning (it may be a typo, or a model newer
        # than the catalog). Nothing says which provider serves it, so a real run fails the
        # step with a configuration error; a --mock run answers it.
        near = suggest(base, known.bare_names)
        yield Diagnostic(
            "MMO401",
            f"unknown model `{base}` in {where}: it is not in the catalog and names no provider",
            span,
            label="unknown model",
            help=(f"did you mean `{near}`? A" if near else "A")
            + " model outside the catalog is written `provider/model`; as it is, only a"
            " mock run can answer it",
        )
        return
    if not provider or not name or not _NAME_RE.match(name) or not _query_ok(query):
        yield _malformed(model_id, span, where)
        return
    if provider not in known.provider_set:
        yield Diagnostic(
            "MMO402",
            f"unknown provider `{provider}` in model `{model_id}` ({where})",
            span,
            label="unknown provider",
            help=did_you_mean(provider, known.providers)
            or "providers: " + listing(known.providers) + ", or declare an endpoint",
        )
        return
    if provider in CATALOGUED and not _in_catalog(provider, name):
        near = suggest(name, [n for n, prov in CATALOG.items() if prov == provider])
        elsewhere = CATALOG.get(name)
        hint = (
            f"`{name}` is served by {elsewhere}: did you mean `{elsewhere}/{name}`?"
            if elsewhere
            else (f"did you mean `{provider}/{near}`?" if near else None)
        )
        yield Diagnostic(
            "MMO401",
            f"model `{provider}/{name}` in {where} is not in the catalog",
            span,
            label="unknown model",
            help=hint or "a model the catalog lacks (a fine-tune, a newer model) can be "
            "declared in [tool.mmoc] models",
        )
        return
    if provider in CATALOGUED:
        yield from _retired(name, model_id, span, where)


def _family(name: str) -> str:
    """The catalog family of a name: an alias's, a dated snapshot's, or the name itself."""
    name = catalog_name(name)
    snap = _SNAPSHOT_RE.match(name)
    if name not in CATALOG and snap is not None:
        return catalog_name(snap.group("base"))
    return name


def _in_catalog(provider: str, name: str) -> bool:
    return CATALOG.get(_family(name)) == provider


def _retired(name: str, model_id: str, span: Span | None, where: str) -> Iterator[Diagnostic]:
    family = _family(name)
    retired = RETIRED.get(family)
    if retired is None:
        return
    provider = CATALOG[family]
    yield Diagnostic(
        "MMO405",
        f"model `{model_id}` in {where} was retired by {provider} on {retired.date}",
        span,
        label="retired model",
        help=f"move to a current model, for example `{provider}/{retired.successor}`",
    )


def _query_ok(query: str) -> bool:
    if not query:
        return True
    return all(
        pair and "=" in pair and pair.partition("=")[0].strip() for pair in query.split("&")
    )


def _malformed(model_id: str, span: Span | None, where: str) -> Diagnostic:
    return Diagnostic(
        "MMO403",
        f"malformed model id `{model_id}` in {where}",
        span,
        label="expected `provider/model`",
        help="write `provider/model` (optionally `?option=value`), a catalog name, or an alias",
    )


def check_endpoints(p: ir.Pipeline) -> Iterator[Diagnostic]:
    for endpoint in p.providers:
        span = first_span(endpoint, p)
        if not is_identifier(endpoint.name.replace("-", "_")):
            yield Diagnostic(
                "MMO404",
                f"endpoint name `{endpoint.name}` is not a valid provider name",
                span,
                help="use letters, digits, `_` and `-`",
            )
        if endpoint.name in BUILTIN_PROVIDERS:
            yield Diagnostic(
                "MMO404",
                f"endpoint `{endpoint.name}` has the name of a built-in provider",
                span,
                help="give the endpoint its own name",
            )
        if endpoint.kind != "openai-compatible":
            yield Diagnostic(
                "MMO404",
                f"endpoint `{endpoint.name}` has kind `{endpoint.kind}`; "
                "only openai-compatible endpoints can be declared",
                span,
            )
        url = urlparse(endpoint.base_url)
        if url.scheme not in ("http", "https") or not url.netloc:
            yield Diagnostic(
                "MMO404",
                f"endpoint `{endpoint.name}` has base URL `{endpoint.base_url}`, "
                "which is not an http(s) URL",
                span,
                help="for example http://127.0.0.1:11434/v1",
            )


CHECKS = (check_model_ids, check_endpoints)
