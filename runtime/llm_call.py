"""The llm-step path: render, route, breaker, retry loop per model, then fallback models.

The loops are the runtime's one attempt loop and fallback loop (`attempts`), which
`RetryStrategy.run`, `CircuitBreaker.call` and `FallbackChain.execute` also run; what this
module adds is the trace (`_ModelAttempts`), the provider call and the step's accounting.
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
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from functools import lru_cache, partial
from typing import Any

from .attempts import AttemptLog, attempt_loop, first_success
from .breaker import BreakerRegistry, CircuitBreaker
from .call_guard import CallGuard
from .catalog import ModelId, parse_model_id
from .errors import CircuitOpenError, FallbackExhaustedError, LlmError, error_kind
from .observer import Hooks, LlmCall, safe_call
from .pricing import cost as price_cost
from .providers import ProviderRegistry
from .providers.base import LlmRequest, LlmResponse, Provider
from .providers.mock import OPTIONS as MOCK_OPTIONS
from .redaction import redact, scrub, secret_values
from .replies import CHARGED, SAVED, Reply, ReplyCall, ReplySources
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
        "guard",
        "mock",
        "mock_provider",
        "model_limits",
        "on_attempt",
        "on_attempt_end",
        "on_text",
        "providers",
        "replies",
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
        guard: CallGuard | None = None,
        replies: ReplySources | None = None,
    ) -> None:
        self.run_id = run_id
        self.mock = mock
        self.providers = providers
        self.breakers = breakers
        self.endpoints = endpoints
        self.on_attempt = hooks.on_attempt if hooks is not None else None
        self.on_attempt_end = hooks.on_attempt_end if hooks is not None else None
        # An observer with `on_text_delta(step, text)` makes the run stream its llm steps.
        on_text = getattr(hooks.observer, "on_text_delta", None) if hooks is not None else None
        self.on_text: Callable[[str, str], Any] | None = on_text if callable(on_text) else None
        self.sleep = sleep
        self.clock = clock
        self.rng = rng
        self.capture = capture
        self._secrets: tuple[str, ...] | None = None
        # Per-model semaphores, created on first use (a run only pays for models it calls).
        self.model_limits: dict[str, asyncio.Semaphore | None] = {}
        self.default_model_limit: int | Mapping[str, int] | None = model_concurrency
        self.mock_provider: Provider | None = providers.mock() if mock else None
        # Rate limits and budgets (`call_guard`); None when the run has neither.
        self.guard = guard
        # Fixed replies, a cassette, the response cache: asked before the provider (`replies`).
        self.replies = replies

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


def run_llm_step(ctx: LlmContext, step: LlmStep, values: Mapping[str, Any],
                 st: StepTrace) -> Coroutine[Any, Any, Any]:
    """Start one llm step: its prompts are rendered now (a template error raises here), and
    the coroutine returned runs the models and gives the step's value, filling `st`, or
    raises the step's error. A plain function, so the step costs no extra coroutine."""
    prompt = render(parsed(step.prompt), values)
    system = render(parsed(step.system), values) if step.system else None
    if ctx.capture:
        st.prompt, st.system = scrub(prompt, ctx.secrets), scrub(system, ctx.secrets)
    if not step.fallback:
        # One model: the fallback loop would await it and raise its error as is
        # (`_exhausted`), so it is skipped, and with it a coroutine per step.
        return _on_model(ctx, step, st, (step.model,), prompt, system, 0)
    models = (step.model, *step.fallback)
    on_model = partial(_on_model, ctx, step, st, models, prompt, system)
    return first_success(models, on_model, _exhausted)


def _on_model(ctx: LlmContext, step: LlmStep, st: StepTrace, models: tuple[str, ...],
              prompt: str, system: str | None, index: int) -> Coroutine[Any, Any, Any]:
    """The attempts on model `models[index]`, under the step's retry policy and breaker: a
    coroutine of the value, which raises the model's last error (the fallback loop then
    moves on). A model that cannot be called at all (no API key) raises here."""
    requested = models[index]
    if index:
        st.fallback_used = True
    routed, key = route(requested, ctx.mock)
    breaker = ctx.breakers.get(key, step.breaker) if step.breaker is not None else None
    fmt = step.output_format
    provider = ctx.mock_provider
    # With reply sources the provider is found when one is needed: a replayed run, or a step
    # with a fixed reply, needs no key.
    if provider is None and ctx.replies is None:
        try:
            provider = ctx.providers.get(routed, ctx.endpoints)
        except Exception:
            if breaker is not None:
                _note_breaker(st, key, breaker)
            raise
    request = LlmRequest(
        provider=routed.provider, model=routed.name, prompt=prompt, system=system,
        temperature=step.temperature, max_tokens=step.max_tokens, stop=step.stop,
        json_output=fmt is not None, json_schema=fmt.schema if fmt else None,
        options=routed.options, step=st.name, run_id=ctx.run_id, timeout=step.timeout,
    )
    limit = ctx.limit_for(requested, routed) if ctx.default_model_limit is not None else None
    model = _ModelAttempts(ctx, step, st, requested, key, breaker, provider, request, limit,
                           routed)
    return attempt_loop(model.reply, step.retry, breaker, model, ctx.sleep, ctx.rng, ctx.clock)


class _ModelAttempts(AttemptLog):
    """One model of an llm step: the call each attempt makes (`reply`), and what the trace
    records of it: an `AttemptTrace` per attempt, shown to the observer before its backoff
    wait, with errors scrubbed of the run's secrets; the breaker's state once the model is
    done; and on success the step's model, tokens and cost."""

    __slots__ = ("attempt", "breaker", "ctx", "found", "key", "limit", "provider", "request",
                 "requested", "response", "routed", "st", "step")
    response: LlmResponse | None

    def __init__(self, ctx: LlmContext, step: LlmStep, st: StepTrace, requested: str, key: str,
                 breaker: CircuitBreaker | None, provider: Provider | None, request: LlmRequest,
                 limit: asyncio.Semaphore | None, routed: ModelId) -> None:
        self.ctx = ctx
        self.step = step
        self.st = st
        self.requested = requested
        self.key = key
        self.breaker = breaker
        self.provider = provider
        self.request = request
        self.limit = limit
        self.routed = routed
        self.found: Reply | None = None  # the reply a source gave (None: the provider's)

    async def reply(self) -> Any:
        """One call: the reply's value (its text, or for a structured step its parsed JSON).
        A reply that does not parse is a failed attempt (retried if the policy says so).
        Records the attempt's time to first token: to the first text when streamed, else to
        the reply (a non-streamed reply arrives whole, or from a reply source)."""
        ctx = self.ctx
        started = ctx.clock()
        if ctx.replies is not None:
            value = await self._sourced_reply(ctx.replies, started)
        else:
            self.response = await self._provider_reply(started)
            value = self._value(self.response)
        if self.attempt.ttft_ms is None:
            self.attempt.ttft_ms = (ctx.clock() - started) * 1000.0
        return value

    def _value(self, response: LlmResponse) -> Any:
        fmt = self.step.output_format
        return parse_structured(response.text, fmt.schema) if fmt is not None else response.text

    async def _provider_reply(self, started: float) -> LlmResponse:
        """The provider's reply: streamed when the run shows text, through the rate limits and
        budget when the run has any, under the step's per-model concurrency cap."""
        ctx = self.ctx
        if self.provider is None:  # made only when needed: a replayed run needs no keys
            self.provider = ctx.providers.get(self.routed, ctx.endpoints)
        provider = self.provider
        timeout = self.step.timeout
        on_text = ctx.on_text
        if on_text is not None:
            from .streaming_call import streamed_reply  # loaded by the first streamed call

            async def streamed() -> LlmResponse:
                return await streamed_reply(
                    provider, self.request, timeout, self.limit, self.attempt,
                    on_text, ctx.clock, started)

            guard = ctx.guard
            return await (guard.call(self.requested, self.request, streamed)
                          if guard is not None else streamed())
        if ctx.guard is not None:
            return await ctx.guard.call(self.requested, self.request, self._call)
        if self.limit is not None:
            async with self.limit:
                return await _call(provider, self.request, timeout)
        if timeout is None:  # the common case, without `_call`'s extra coroutine
            return await provider.complete(self.request)
        return await _call(provider, self.request, timeout)

    async def _call(self) -> LlmResponse:
        """The call itself, under the step's per-model concurrency cap if it has one."""
        assert self.provider is not None
        if self.limit is not None:
            async with self.limit:
                return await _call(self.provider, self.request, self.step.timeout)
        return await _call(self.provider, self.request, self.step.timeout)

    async def _sourced_reply(self, replies: ReplySources, started: float) -> Any:
        """`reply` with reply sources: the first source that has the answer gives it, else the
        provider does; the sources are told a reply that parsed (`replies.ReplySources`)."""
        call = ReplyCall(self.request, self.step, self.requested)
        found = replies.lookup(call)
        if found is not None:
            reply, answered_by = found
            self.found, self.response = reply, reply.response
            value = self._value(reply.response)
            replies.store(call, reply.response, answered_by)
            return value
        self.found = None
        response = self.response = await self._provider_reply(started)
        value = self._value(response)
        replies.store(call, response, None)
        return value

    # -- the log ------------------------------------------------------------------------

    def begin(self, retry_number: int, wait: float) -> None:
        st = self.st
        self.response = None  # set by `reply` when this attempt gets one
        self.found = None  # set by `reply` when a reply source answers this attempt
        self.attempt = attempt = AttemptTrace(len(st.attempts) + 1, self.requested, wait * 1000.0)
        st.attempts.append(attempt)
        on_attempt = self.ctx.on_attempt
        if on_attempt is not None:
            safe_call(on_attempt, st.name, attempt)
        if retry_number:  # this attempt is a retry (its wait may be 0)
            st.retries += 1

    def rejected(self, breaker: CircuitBreaker) -> Exception:
        attempt = self.attempt
        attempt.status = "rejected"
        attempt.error_kind = "circuit_open"
        attempt.error = f"circuit open for {self.request.provider}/{self.request.model}: not called"
        _note_breaker(self.st, self.key, breaker)
        self._report_end()
        return CircuitOpenError(self.requested, attempt.error)

    def failed(self, exc: Exception, latency: float) -> None:
        attempt = self.attempt
        attempt.latency_ms = latency * 1000.0
        attempt.status = FAILED
        attempt.error_kind = error_kind(exc)
        attempt.error = redact(str(exc) or type(exc).__name__, self.ctx.secrets)
        if self.response is not None:  # a reply that failed the JSON check: still charged
            _charge(self.st, attempt, self.requested, self.response, self.found)
        self._report_end()

    def gave_up(self, exc: Exception) -> None:
        if self.breaker is not None:
            _note_breaker(self.st, self.key, self.breaker)

    def succeeded(self, result: Any, latency: float) -> None:
        attempt, response = self.attempt, self.response
        assert response is not None  # a success is a reply
        attempt.latency_ms = latency * 1000.0
        attempt.status = SUCCESS
        if self.breaker is not None:
            _note_breaker(self.st, self.key, self.breaker)
        self.st.model_used = self.requested
        self.st.ttft_ms = attempt.ttft_ms
        _charge(self.st, attempt, self.requested, response, self.found)
        self._report_end()

    def _report_end(self) -> None:
        """The observer's `on_attempt_end`, when it has one (the details cost nothing else)."""
        on_attempt_end = self.ctx.on_attempt_end
        if on_attempt_end is not None:
            base_url = getattr(self.provider, "current_base_url", None)
            call = LlmCall(self.request, self.response,
                           base_url() if callable(base_url) else None)
            safe_call(on_attempt_end, self.st.name, self.attempt, call)


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


def _charge(st: StepTrace, attempt: AttemptTrace, requested: str,
            response: LlmResponse, found: Reply | None = None) -> None:
    """Record what a reply cost on its attempt and add it to the step: every reply the
    provider sent is charged, also one that then failed the JSON check. A reply from a source
    (`found`) is marked with it, and costs what its billing says (`replies`): a replayed one
    as recorded, a cache hit nothing (its cost is saved), a fixed one nothing."""
    attempt.input_tokens = response.input_tokens
    attempt.output_tokens = response.output_tokens
    attempt.cached_input_tokens = response.cached_input_tokens
    st.input_tokens += response.input_tokens
    st.output_tokens += response.output_tokens
    st.cached_input_tokens += response.cached_input_tokens
    st.tokens_estimated = st.tokens_estimated or response.tokens_estimated
    # Priced as the requested model, also in a mock run (`--mock`): the trace then shows what
    # the run would cost at these token counts. A model requested as `mock/...` is free.
    usd, estimated = price_cost(
        requested, response.input_tokens, response.output_tokens, response.cached_input_tokens
    )
    if found is not None:
        attempt.reply_source = st.reply_source = found.source
        if found.billing != CHARGED:
            if found.billing == SAVED:
                st.cost_saved_usd += usd
            return
    st.cost_usd += usd
    st.cost_estimated = st.cost_estimated or estimated


def _note_breaker(st: StepTrace, key: str, breaker: CircuitBreaker) -> None:
    if st.breaker_state is None:
        st.breaker_state = {}
    st.breaker_state[key] = breaker.state


def _exhausted(failures: list[tuple[str, BaseException]]) -> BaseException:
    """The step's error: the model's own error, or one that lists every model tried."""
    if len(failures) == 1:
        return failures[0][1]
    return FallbackExhaustedError(failures)
