"""USD prices per million tokens, per model, and the cost of one call.

Prices are the providers' published standard-tier list prices (pay as you go, no batch
discount, prompts under the long-context threshold). They change; `PRICES_AS_OF` says when
these were taken. A model missing from the table is priced at `DEFAULT_PRICE` and reported as
*estimated* (the trace flags it), never an error: cost is bookkeeping, not a reason to fail.

Token convention: `cached_input_tokens` is the part of `input_tokens` served from the
provider's prompt cache (OpenAI and Gemini count it inside the prompt tokens; the Anthropic
adapter adds cache reads to `input_tokens` before calling here). Cached tokens are billed at
`cached_input_per_mtok` when the model has one, else at the normal input price.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .catalog import ALIASES, CATALOG, catalog_name

# The date the figures below were taken from the providers' pricing pages: each `Price`
# carries it (`as_of`), so whoever reads a price can tell how old it is.
PRICES_AS_OF = "2025-10-01"


@dataclass(frozen=True)
class Price:
    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float | None = None
    # When the figures were taken from the provider's price page; "declared" for a price a
    # project declares (`[tool.mmoc.models]`, see `declare_prices`).
    as_of: str = PRICES_AS_OF


# Keyed by bare model name (the part after `provider/`).
PRICES: dict[str, Price] = {
    # OpenAI
    "gpt-4": Price(30.00, 60.00),
    "gpt-4-turbo": Price(10.00, 30.00),
    "gpt-3.5-turbo": Price(0.50, 1.50),
    "gpt-4o": Price(2.50, 10.00, 1.25),
    "gpt-4o-mini": Price(0.15, 0.60, 0.075),
    "gpt-4.1": Price(2.00, 8.00, 0.50),
    "gpt-4.1-mini": Price(0.40, 1.60, 0.10),
    "gpt-4.1-nano": Price(0.10, 0.40, 0.025),
    "gpt-5": Price(1.25, 10.00, 0.125),
    "gpt-5-mini": Price(0.25, 2.00, 0.025),
    "gpt-5-nano": Price(0.05, 0.40, 0.005),
    "o3": Price(2.00, 8.00, 0.50),
    "o3-mini": Price(1.10, 4.40, 0.55),
    "o4-mini": Price(1.10, 4.40, 0.275),
    # Anthropic (cached = cache reads)
    "claude-3-opus": Price(15.00, 75.00, 1.50),
    "claude-3-sonnet": Price(3.00, 15.00),
    "claude-3-haiku": Price(0.25, 1.25, 0.03),
    "claude-3-5-haiku": Price(0.80, 4.00, 0.08),
    "claude-3-5-sonnet": Price(3.00, 15.00, 0.30),
    "claude-3-7-sonnet": Price(3.00, 15.00, 0.30),
    "claude-sonnet-4": Price(3.00, 15.00, 0.30),
    "claude-sonnet-4-5": Price(3.00, 15.00, 0.30),
    "claude-opus-4": Price(15.00, 75.00, 1.50),
    "claude-opus-4-1": Price(15.00, 75.00, 1.50),
    "claude-haiku-4-5": Price(1.00, 5.00, 0.10),
    # Gemini (paid tier; 2.5 Pro and 1.5 at the short-prompt rate)
    "gemini-2.5-flash-lite": Price(0.10, 0.40, 0.01),
    "gemini-2.0-flash": Price(0.10, 0.40, 0.025),
    "gemini-2.0-flash-lite": Price(0.075, 0.30),
    "gemini-2.5-flash": Price(0.30, 2.50, 0.03),
    "gemini-2.5-pro": Price(1.25, 10.00, 0.125),
    "gemini-1.5-flash": Price(0.075, 0.30, 0.01875),
    "gemini-1.5-pro": Price(1.25, 5.00, 0.3125),
}

# Unknown models: $1 per million tokens in and out, the earlier library's flat "unknown" rate
# ($0.001 per 1K). Flagged as estimated wherever it is used.
DEFAULT_PRICE = Price(1.00, 1.00)

# Providers that never bill: the mock provider and local servers.
FREE_PROVIDERS: frozenset[str] = frozenset({"mock", "ollama"})
FREE = Price(0.0, 0.0, 0.0)

# Prices declared for models the table cannot know (a fine-tune, a private deployment), by
# `provider/name` or bare name: they come before the table and are not estimates. Process-wide,
# as the rate limiters are: `mmoc run` and `mmoc test` declare the configuration's
# `[tool.mmoc.models]` here, a Ray batch's workers get the driver's, an application calls
# `declare_prices` itself.
_DECLARED: dict[str, Price] = {}


def declare_prices(prices: Mapping[str, Price]) -> None:
    """Price these models (`provider/name` or a bare name; `?options` ignored) ahead of the
    table. A model declared again takes its newer price. A rate that is negative, infinite or
    not a number is a `ValueError`: it would make every cost and budget meaningless."""
    for model, price in prices.items():
        rates = (price.input_per_mtok, price.output_per_mtok, price.cached_input_per_mtok or 0.0)
        if not all(0 <= rate < math.inf for rate in rates):
            raise ValueError(f"the price of {model!r} must be finite and >= 0, got {price}")
        provider, name = _bare_name(model)
        _DECLARED[f"{provider}/{name}" if provider is not None else name] = price


def declared_prices() -> dict[str, Price]:
    """The prices `declare_prices` has declared in this process."""
    return dict(_DECLARED)


# Suffixes of dated or preview snapshots that share their family's price: gpt-4o-2024-08-06,
# gpt-4-0613, claude-sonnet-4-5-20250929, gemini-1.5-flash-002, gemini-2.5-flash-preview-05-20,
# claude-3-5-sonnet-latest. A bare "-5" is NOT a snapshot: claude-opus-4-5 is its own model.
_SNAPSHOT_SUFFIX = re.compile(
    r"(?:\d{4}(?:-\d{2}-\d{2})?|\d{8}|\d{3}|latest"
    r"|(?:preview|exp)(?:-\d{2}-\d{2}|-\d{4})?)"
)


def _bare_name(model: str) -> tuple[str | None, str]:
    base = model.partition("?")[0].strip()
    provider, slash, name = base.partition("/")
    if not slash:
        return None, base
    return provider, name


def lookup(name: str) -> Price | None:
    """The table price of a bare name, or of the family a dated snapshot belongs to."""
    name = ALIASES.get(name, name)
    price = PRICES.get(name)
    if price is not None:
        return price
    # Longest family first, so gpt-4o-mini-2024-07-18 is not priced as gpt-4o.
    for family in sorted(PRICES, key=len, reverse=True):
        if name.startswith(family + "-") and _SNAPSHOT_SUFFIX.fullmatch(name[len(family) + 1 :]):
            return PRICES[family]
    return None


def price_for(model: str) -> tuple[Price, bool]:
    """(price, estimated) for a model id: `provider/name`, bare `name`, options ignored. A
    declared price (`declare_prices`) comes first, then the table, then `DEFAULT_PRICE`."""
    provider, name = _bare_name(model)
    if _DECLARED:
        # A bare catalog name is `provider/name` too: declared either way, it is found.
        owner = provider or CATALOG.get(catalog_name(name))
        declared = _DECLARED.get(f"{owner}/{name}") if owner else None
        declared = declared or _DECLARED.get(name)
        if declared is not None:
            return declared, False
    if provider in FREE_PROVIDERS:
        return FREE, False
    price = lookup(name)
    if price is None:
        return DEFAULT_PRICE, True
    return price, False


def cost(
    model: str, input_tokens: int, output_tokens: int, cached_input_tokens: int = 0
) -> tuple[float, bool]:
    """(USD, estimated) for one call. Cached tokens are a part of `input_tokens`."""
    price, estimated = price_for(model)
    return cost_at(price, input_tokens, output_tokens, cached_input_tokens), estimated


def cost_at(price: Price, input_tokens: int, output_tokens: int,
            cached_input_tokens: int = 0) -> float:
    """USD for one call at `price`. Cached tokens are a part of `input_tokens`."""
    if input_tokens < 0 or output_tokens < 0 or cached_input_tokens < 0:
        raise ValueError(
            f"token counts must be >= 0, got input={input_tokens} output={output_tokens} "
            f"cached={cached_input_tokens}"
        )
    cached = min(cached_input_tokens, input_tokens)
    cached_rate = (
        price.cached_input_per_mtok
        if price.cached_input_per_mtok is not None
        else price.input_per_mtok
    )
    return (
        (input_tokens - cached) * price.input_per_mtok
        + cached * cached_rate
        + output_tokens * price.output_per_mtok
    ) / 1_000_000
