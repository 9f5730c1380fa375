"""The llm-step path: render, route, breaker, retry loop per model, then fallback models.

For each model of the step (the primary, then its fallbacks in order):
- a breaker policy on the step puts a per-model breaker (keyed `provider/name`, shared by every
  run in the process) in front of each attempt; an open breaker skips the model without a call
  and the trace records the rejected attempt. A step without a breaker policy uses no breaker.
- attempts follow the step's `RetryStrategy` (none: one attempt); each attempt has the step's
  timeout, and a timeout is an error of kind `timeout` like any other.
The first success wins. When every model is exhausted the step fails with an error that lists
each model and its last error.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping
from functools import lru_cache
from inspect import isawaitable
from typing import Any

from .breaker import BreakerRegistry, CircuitBreaker
from .catalog import ModelId, parse_model_id
from .errors import CircuitOpenError, FallbackExhaustedError, LlmError, error_kind
from .observer import Hooks, safe_call
from .pricing import cost as price_cost
from .providers import ProviderRegistry
from .providers.base import LlmRequest, LlmResponse, Provider
from .providers.mock import OPTIONS as MOCK_OPTIONS
from .redaction import redact, scrub, secret_values
from .spec import EndpointSpec, LlmStep
from .structured import parse_structured
from .template import ParsedTemplate, parse_template, render
from .trace import FAILED, SUCCESS, AttemptTrace, StepTrace


class LlmContext:
    """Everything an llm step needs from its run."""

    __slots__ = (
        "_secrets",
        "breakers",
        "capture",
        "clock",
        "default_model_limit",
        "endpoints",
        "mock",
        "mock_provider",
        "model_limits",
        "on_attempt",
        "providers",
        "rng",
        "run_id",
        "sleep",
    )

    def __init__(
        self,
        *,
        run_id: str,
        mock: bool,
        providers: ProviderRegistry,
        breakers: BreakerRegistry,
        endpoints: tuple[EndpointSpec, ...],
        hooks: Hooks | None,
        sleep: Callable[[float], Awaitable[Any] | None],
        clock: Callable[[], float],
        rng: random.Random | None,
        capture: bool,
        model_concurrency: int | Mapping[str, int] | None,
    ) -> None:
        self.run_id = run_id
        self.mock = mock
        self.providers = providers
        self.breakers = breakers
        self.endpoints = endpoints
        self.on_attempt = hooks.on_attempt if hooks is not None else None
        self.sleep = sleep
        self.clock = clock
        self.rng = rng
        self.capture = capture
        self._secrets: tuple[str, ...] | None = None
        # Per-model semaphores, created on first use (a run only pays for models it calls).
        self.model_limits: dict[str, asyncio.Semaphore | None] = {}
        self.default_model_limit: int | Mapping[str, int] | None = model_concurrency
        self.mock_provider: Provider | None = providers.mock() if mock else None

    @property
    def secrets(self) -> tuple[str, ...]:
        """The values of the keys this run can use (`redaction.secret_values`), hidden from its
        errors and captured content. Read from the environment once per run, on first need:
        a run where nothing fails and nothing is captured never reads it."""
        if self._secrets is None:
            self._secrets = secret_values(self.endpoints)
        return self._secrets

    def limit_for(self, requested: str, model: ModelId) -> asyncio.Semaphore | None:
        try:
            return self.model_limits[requested]
        except KeyError:
            pass
        spec = self.default_model_limit
        size: int | None
        if spec is None or isinstance(spec, int):
            size = spec
        else:
            # The id as written, then `provider/name` as requested, then as routed (mock).
            size = spec.get(requested)
            if size is None:
                size = spec.get(requested.partition("?")[0], spec.get(model.key))
        sem = asyncio.Semaphore(size) if size else None
        self.model_limits[requested] = sem
        return sem


@lru_cache(maxsize=2048)
def route(requested: str, mock: bool) -> tuple[ModelId, str]:
    """(the model id a call goes to, its breaker key); a mock run keeps the
    requested name and options but sends every call to the mock provider."""
    if mock and "/" not in requested.partition("?")[0]:
        # Every model goes to the mock, so a bare name the catalog does not know is no error
        # here (it is priced at the default rate and flagged `cost_estimated`).
        requested = f"mock/{requested}"
    mid = parse_model_id(requested)
    if not mock:
        return mid, mid.key
    options = mid.options
    if mid.provider != "mock":
        # Options written for a real provider mean nothing to the mock: only its own go along.
        options = {k: v for k, v in options.items() if k in MOCK_OPTIONS}
    routed = ModelId("mock", mid.name, options)
    return routed, routed.key


@lru_cache(maxsize=2048)
def parsed(template: str) -> ParsedTemplate:
    return parse_template(template)


async def run_llm_step(ctx: LlmContext, step: LlmStep, values: Mapping[str, Any],
                       st: StepTrace) -> Any:
    """Run one llm step to its value, filling `st`; raises the step's error on failure."""
    prompt = render(parsed(step.prompt), values)
    system = render(parsed(step.system), values) if step.system else None
    if ctx.capture:
        st.prompt, st.system = scrub(prompt, ctx.secrets), scrub(system, ctx.secrets)
    fmt = step.output_format
    policy = step.breaker
    models = (step.model, *step.fallback) if step.fallback else (step.model,)
    failures: list[tuple[str, BaseException]] = []
    for index, requested in enumerate(models):
        if index:
            st.fallback_used = True
        routed, key = route(requested, ctx.mock)
        breaker = ctx.breakers.get(key, policy) if policy is not None else None
        try:
            provider = ctx.mock_provider or ctx.providers.get(routed, ctx.endpoints)
            request = LlmRequest(
                provider=routed.provider, model=routed.name, prompt=prompt, system=system,
                temperature=step.temperature, max_tokens=step.max_tokens, stop=step.stop,
                json_output=fmt is not None, json_schema=fmt.schema if fmt else None,
                options=routed.options, step=st.name, run_id=ctx.run_id, timeout=step.timeout,
            )
            response, value = await _attempts(ctx, step, st, requested, routed, provider,
                                              request, breaker)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure moves on to the next model
            failures.append((requested, exc))
            if breaker is not None:
                _note_breaker(st, key, breaker)
            continue
        if breaker is not None:
            _note_breaker(st, key, breaker)
        _account(st, requested, response)
        return value  # the scheduler records it (and captures it, scrubbed)
    raise _exhausted(failures)


async def _attempts(ctx: LlmContext, step: LlmStep, st: StepTrace, requested: str,
                    routed: ModelId, provider: Provider, request: LlmRequest,
                    breaker: CircuitBreaker | None) -> tuple[LlmResponse, Any]:
    """The retry loop on one model: (response, value), or raises the last error."""
    retry = step.retry
    fmt = step.output_format
    limit = ctx.limit_for(requested, routed) if ctx.default_model_limit is not None else None
    on_attempt = ctx.on_attempt
    clock = ctx.clock
    retry_number = 0
    wait = 0.0
    while True:
        attempt = AttemptTrace(len(st.attempts) + 1, requested, wait * 1000.0)
        st.attempts.append(attempt)
        if on_attempt is not None:
            safe_call(on_attempt, st.name, attempt)
        if retry_number:  # this attempt is a retry (its wait may be 0)
            st.retries += 1
        if wait:
            pause = ctx.sleep(wait)
            if pause is not None and isawaitable(pause):  # a plain function sleeps by itself
                await pause
        if breaker is not None and not breaker.allow():
            attempt.status = "rejected"
            attempt.error_kind = "circuit_open"
            attempt.error = f"circuit open for {request.provider}/{request.model}: not called"
            raise CircuitOpenError(requested, attempt.error)
        started = clock()
        try:
            if limit is not None:
                async with limit:
                    response = await _call(provider, request, step.timeout)
            else:
                response = await _call(provider, request, step.timeout)
            # A reply that does not parse is a failed attempt (retried if the policy says so).
            value = (parse_structured(response.text, fmt.schema) if fmt is not None
                     else response.text)
        except asyncio.CancelledError:
            if breaker is not None:
                breaker.release()
            raise
        except Exception as exc:
            attempt.latency_ms = (clock() - started) * 1000.0
            attempt.status = FAILED
            attempt.error_kind = error_kind(exc)
            attempt.error = redact(str(exc) or type(exc).__name__, ctx.secrets)
            if breaker is not None:
                breaker.record_failure(exc)
            if retry is None or retry_number >= retry.max_retries or not retry.should_retry(exc):
                raise
            wait = retry.wait_before(retry_number, exc, ctx.rng)
            if breaker is not None and breaker.retry_in() > wait:
                # The breaker would reject the retry after the whole wait: move on to the next
                # model now, without sleeping or counting an attempt that cannot happen.
                raise
            retry_number += 1
            continue
        attempt.latency_ms = (clock() - started) * 1000.0
        attempt.status = SUCCESS
        attempt.input_tokens = response.input_tokens
        attempt.output_tokens = response.output_tokens
        attempt.cached_input_tokens = response.cached_input_tokens
        if breaker is not None:
            breaker.record_success()
        return response, value


async def _call(provider: Provider, request: LlmRequest, timeout: float | None) -> LlmResponse:
    if timeout is None:
        return await provider.complete(request)
    try:
        async with asyncio.timeout(timeout) as scope:
            return await provider.complete(request)
    except TimeoutError:
        if not scope.expired():
            raise  # the provider's own timeout error, with its own message
        raise LlmError(
            "timeout", f"{request.provider}/{request.model}: no reply within {timeout:g}s",
            provider=request.provider, model=request.model,
        ) from None


def _account(st: StepTrace, requested: str, response: LlmResponse) -> None:
    st.model_used = requested
    st.input_tokens = response.input_tokens
    st.output_tokens = response.output_tokens
    st.cached_input_tokens = response.cached_input_tokens
    st.tokens_estimated = response.tokens_estimated
    # Priced as the requested model, also in a mock run (`--mock`): the trace then shows what
    # the run would cost at these token counts. A model requested as `mock/...` is free.
    usd, estimated = price_cost(
        requested, response.input_tokens, response.output_tokens, response.cached_input_tokens
    )
    st.cost_usd = usd
    st.cost_estimated = estimated


def _note_breaker(st: StepTrace, key: str, breaker: CircuitBreaker) -> None:
    if st.breaker_state is None:
        st.breaker_state = {}
    st.breaker_state[key] = breaker.state


def _exhausted(failures: list[tuple[str, BaseException]]) -> BaseException:
    """The step's error: the model's own error, or one that lists every model tried."""
    if len(failures) == 1:
        return failures[0][1]
    return FallbackExhaustedError(failures)
