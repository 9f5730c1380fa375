"""The tokens a call is expected to use, known before it is made.

Estimate = prompt tokens (the prompt and system prompt, about four characters a token, the
rule the providers use when a reply carries no usage, `providers.base.estimate_tokens`, which
a test keeps equal to `text_tokens`: this module stays light enough for `mmoc check`)
plus the output allowance: the step's `max_tokens`, or `DEFAULT_OUTPUT_TOKENS` when the step
sets none. The rate limiter's tokens-per-minute bucket takes the estimate before the call and
is corrected from the reply's usage after it; the budget prices the estimate at the model's
rate to decide whether the call may be made at all.
"""

from __future__ import annotations

# The output allowance of a step without `max_tokens`: a reply of about 3,000 characters.
DEFAULT_OUTPUT_TOKENS = 1024


def text_tokens(text: str) -> int:
    """About four characters a token (at least one for any text)."""
    return max(1, (len(text) + 3) // 4) if text else 0


def prompt_tokens(prompt: str, system: str | None = None) -> int:
    return text_tokens(prompt) + (text_tokens(system) if system else 0)


def output_allowance(max_tokens: int | None) -> int:
    return max_tokens if max_tokens is not None else DEFAULT_OUTPUT_TOKENS


def call_estimate(prompt: str, system: str | None, max_tokens: int | None) -> tuple[int, int]:
    """(input tokens, output tokens) expected of one call."""
    return prompt_tokens(prompt, system), output_allowance(max_tokens)
