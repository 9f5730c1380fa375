"""The pipeline spec: plain frozen data that a generated module builds and the executor runs.

Generated code constructs these objects at import time; nothing here does any work. Data
dependencies are derived, not declared: an llm step reads the keys its prompt and system
prompt name, a transform reads the keys it declares, and `after` adds ordering on top.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import field, replace
from typing import TYPE_CHECKING, Any

from .limiter import Limits
from .retry import RetryStrategy
from .template import parse_template

if TYPE_CHECKING:
    from dataclasses import dataclass
else:  # the same classes, their methods written on first use: see lazy_dataclass
    from .lazy_dataclass import dataclass

# A condition is compiled to a small function of the values produced so far.
Condition = Callable[[Mapping[str, Any]], bool]


class _Required:
    """Sentinel default: the input must be given."""

    _instance: _Required | None = None

    def __new__(cls) -> _Required:  # noqa: PYI034 - a singleton: always this class
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class InputSpec:
    name: str
    type: str = "str"  # str, int, float, bool, json (any JSON value)
    default: Any = REQUIRED

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass(frozen=True)
class BreakerPolicy:
    failure_threshold: int = 5
    recovery_timeout_seconds: float = 60.0
    half_open_max_calls: int = 1


@dataclass(frozen=True)
class OutputFormat:
    """An llm step's structured output: the reply is parsed as JSON, checked against `schema`."""

    kind: str = "json"
    schema: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class CachePolicy:
    """Serve a request the response cache has seen from the cache (`mmoc_runtime.
    response_cache`): for `ttl` seconds after it was stored (None: until cleared). A policy
    with `enabled` False turns the cache off for a step the pipeline default would cache."""

    ttl: float | None = None
    enabled: bool = True


@dataclass(frozen=True)
class LlmStep:
    name: str
    model: str
    prompt: str
    output_key: str
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    after: tuple[str, ...] = ()  # step names this step runs after, besides data dependencies
    when: Condition | None = None
    when_text: str | None = None  # the condition as written, for the trace
    timeout: float | None = None  # seconds, per attempt
    retry: RetryStrategy | None = None
    fallback: tuple[str, ...] = ()  # model ids tried in order after the primary is exhausted
    breaker: BreakerPolicy | None = None
    output_format: OutputFormat | None = None
    # Keys the `when` condition reads: the step also waits for their producers.
    when_reads: tuple[str, ...] = ()
    cache: CachePolicy | None = None  # None: not cached (unless the pipeline default caches)

    @property
    def reads(self) -> tuple[str, ...]:
        names = parse_template(self.prompt).names
        if self.system:
            names += tuple(n for n in parse_template(self.system).names if n not in names)
        return names


@dataclass(frozen=True)
class TransformStep:
    name: str
    function: Callable[..., Any]  # sync or async; called with the values of `reads`, in order
    output_key: str
    reads: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    when: Condition | None = None
    when_text: str | None = None
    timeout: float | None = None
    # Seed-style `fn(ctx)`: called with a read-only mapping of inputs and every output so far.
    pass_context: bool = False
    # Keys the `when` condition reads: the step also waits for their producers.
    when_reads: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParallelGroup:
    """Members run concurrently (at most `concurrency` at once); dependants wait for all."""

    name: str
    steps: tuple[LlmStep | TransformStep, ...]
    output_key: str | None = None  # if set: {member output_key: value} of the members
    concurrency: int | None = None
    after: tuple[str, ...] = ()
    when: Condition | None = None
    when_text: str | None = None
    timeout: float | None = None
    # Keys the `when` condition reads: the step also waits for their producers.
    when_reads: tuple[str, ...] = ()


@dataclass(frozen=True)
class MapStep:
    """The body runs once per item of the list under `for_each`, the item under `item`;
    the value is the list of each item's result (`collect`, else the last body step's
    output), in item order. See `map_step.run_map`."""

    name: str
    for_each: str
    steps: tuple[LlmStep | TransformStep, ...]
    output_key: str
    item: str = "item"
    collect: str | None = None
    concurrency: int | None = None  # None: `map_step.DEFAULT_CONCURRENCY` items at once
    on_error: str = "fail"  # fail | skip | collect
    limit: int | None = None  # only the first `limit` items
    after: tuple[str, ...] = ()
    when: Condition | None = None
    when_text: str | None = None
    timeout: float | None = None  # seconds, for the whole map
    when_reads: tuple[str, ...] = ()

    @property
    def reads(self) -> tuple[str, ...]:
        """The list's key, then the enclosing keys the body reads or tests."""
        local = {self.item, *(s.output_key for s in self.steps)}
        names = [self.for_each]
        for s in self.steps:
            names.extend(k for k in (*s.reads, *s.when_reads) if k not in local)
        return tuple(dict.fromkeys(names))


Step = LlmStep | TransformStep | ParallelGroup | MapStep


@dataclass(frozen=True)
class EndpointSpec:
    """A named OpenAI-compatible endpoint declared in a pipeline's `providers` block."""

    name: str
    base_url: str
    kind: str = "openai-compatible"
    api_key_env: str | None = None


@dataclass(frozen=True)
class StepDefaults:
    """Pipeline-wide settings for the steps that do not set their own: `timeout` for llm and
    transform steps (group members included; a group's own timeout is never defaulted),
    `retry`, `breaker` and `cache` for llm steps."""

    retry: RetryStrategy | None = None
    breaker: BreakerPolicy | None = None
    timeout: float | None = None
    cache: CachePolicy | None = None

    def apply(self, step: Step) -> Step:
        """`step` (and a group's members) with each unset setting taken from these defaults."""
        changes: dict[str, Any] = {}
        if (not isinstance(step, (ParallelGroup, MapStep)) and step.timeout is None
                and self.timeout is not None):
            changes["timeout"] = self.timeout
        if isinstance(step, LlmStep):
            if step.retry is None and self.retry is not None:
                changes["retry"] = self.retry
            if step.breaker is None and self.breaker is not None:
                changes["breaker"] = self.breaker
            if step.cache is None and self.cache is not None:
                changes["cache"] = self.cache
        elif isinstance(step, (ParallelGroup, MapStep)):
            members = tuple(self.apply(member) for member in step.steps)
            if members != step.steps:
                changes["steps"] = members
        return replace(step, **changes) if changes else step


@dataclass(frozen=True)
class PipelineSpec:
    """A whole pipeline. `steps` as given are resolved against `defaults` once, here: the
    executor (and anyone reading the spec) sees every step with its effective settings."""

    name: str
    version: str | None = None
    description: str | None = None
    inputs: tuple[InputSpec, ...] = ()
    outputs: tuple[str, ...] = ()  # empty: every produced key is an output
    steps: tuple[Step, ...] = ()
    endpoints: tuple[EndpointSpec, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    defaults: StepDefaults | None = None
    # Rate limits by endpoint (`limit openai/gpt-4o (rpm: 500)`): merged into the process's
    # limiters, where the command line and configuration win (`limiter.LimiterRegistry`).
    limits: Mapping[str, Limits] = field(default_factory=dict)
    budget: float | None = None  # USD a run may spend (`budget $0.50`); None: no limit

    def __post_init__(self) -> None:
        if self.defaults is not None:
            resolved = tuple(self.defaults.apply(step) for step in self.steps)
            object.__setattr__(self, "steps", resolved)  # frozen: set once, while building
