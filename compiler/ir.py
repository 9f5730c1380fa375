"""The typed IR every front end produces and every later pass reads.

Frozen records (`records.Record`, stdlib dataclasses with the part of pydantic's model API
the compiler uses). Every node may carry the `span` it came from, and `comments` that stood
before it in a `.mmo` file; both are excluded from `model_dump()`, which is what "the same
meaning" compares: a pipeline written in `.mmo` and in YAML dumps to the same dict.

The IR keeps what the user wrote, loosely typed where a check must judge it (numbers, backoff
names, retry kinds): front ends report syntax and shape, checks report meaning. Nothing here
raises on a user mistake.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from .records import ConfigDict, Field, Record
from .source import Span


class Node(Record):
    span: Span | None = Field(default=None, exclude=True, repr=False)
    # Comment lines (without `#`) that stood just before this node in a .mmo source.
    comments: tuple[str, ...] = Field(default=(), exclude=True, repr=False)
    # Where each plain value of this node was written (`temperature`, `max_retries`, ...),
    # as (field name, span) pairs: such values carry no span of their own, and a check reports
    # a bad one at the value itself. Fields without an entry fall back to the node's span
    # (`checks.support.value_span`).
    field_spans: tuple[tuple[str, Span], ...] = Field(default=(), exclude=True, repr=False)


class Ident(Node):
    """A name that refers to something else (a step, a key, a policy), with its own span."""

    name: str


class ModelRef(Node):
    """A model as written: `provider/model`, `provider/model?opt=v`, a bare catalog name or an alias."""

    id: str


class Text(Node):
    """A string literal after unescaping and indentation stripping.

    `positions[i]` is the (line, column) in the source of `value[i]`, when the front end can
    say; checks use it to point at a placeholder inside a prompt.
    """

    value: str
    positions: tuple[tuple[int, int], ...] | None = Field(default=None, exclude=True, repr=False)


# ---- condition expressions -------------------------------------------------------------


class KeyExpr(Node):
    kind: Literal["key"] = "key"
    name: str


class LiteralExpr(Node):
    kind: Literal["literal"] = "literal"
    value: str | int | float | bool | None


class CallExpr(Node):
    """`len(x)` or `exists(k)`; a check rejects any other function."""

    kind: Literal["call"] = "call"
    func: str
    args: tuple[Expr, ...]


class NotExpr(Node):
    kind: Literal["not"] = "not"
    operand: Expr


class BoolExpr(Node):
    kind: Literal["bool"] = "bool"
    op: Literal["and", "or"]
    operands: tuple[Expr, ...]


class CompareExpr(Node):
    kind: Literal["compare"] = "compare"
    op: Literal["==", "!=", "<", "<=", ">", ">=", "contains"]
    left: Expr
    right: Expr


Expr = Annotated[
    KeyExpr | LiteralExpr | CallExpr | NotExpr | BoolExpr | CompareExpr,
    Field(discriminator="kind"),
]


# ---- policies ---------------------------------------------------------------------------


class RetryPolicy(Node):
    kind: Literal["retry"] = "retry"
    name: str | None = None  # set for a named policy; None inline
    max_retries: Any = 3
    backoff: Any = "exponential"  # "constant" | "exponential"
    base_delay: Any = 1.0  # seconds
    multiplier: Any = 2.0
    max_delay: Any = 60.0  # seconds
    jitter: Any = "none"  # "none" | "full"
    retry_on: tuple[Ident, ...] = ()  # error kinds; empty means the runtime's defaults


class BreakerPolicy(Node):
    kind: Literal["breaker"] = "breaker"
    name: str | None = None
    failure_threshold: Any = 5
    recovery_timeout: Any = 60.0  # seconds
    half_open_max_calls: Any = 1


class PolicyRef(Node):
    """A use of a named retry or breaker policy."""

    kind: Literal["ref"] = "ref"
    name: str


class CachePolicy(Node):
    """A step's response-cache setting: `cache ttl: 1h` (served for that long), `cache on`
    (until cleared), `cache off` (not cached, whatever the default says)."""

    enabled: bool = True
    ttl: Any = None  # seconds; None: until the cache is cleared


RetrySetting = Annotated[RetryPolicy | PolicyRef, Field(discriminator="kind")]
BreakerSetting = Annotated[BreakerPolicy | PolicyRef, Field(discriminator="kind")]


class OutputSpec(Node):
    """Structured output of an llm step: JSON, optionally checked against a JSON schema."""

    format: Literal["json"] = "json"
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")

    model_config = ConfigDict(populate_by_name=True)


# ---- steps ------------------------------------------------------------------------------


class StepBase(Node):
    name: str
    name_span: Span | None = Field(default=None, exclude=True, repr=False)
    output_key: str | None = None  # None only for a group that collects nothing
    output_key_span: Span | None = Field(default=None, exclude=True, repr=False)
    after: tuple[Ident, ...] = ()  # explicit dependencies (`depends_on` / `after`)
    when: Expr | None = None
    timeout: Any = None  # seconds


class LlmStep(StepBase):
    kind: Literal["llm"] = "llm"
    model: ModelRef
    prompt: Text
    system: Text | None = None
    temperature: Any = None
    max_tokens: Any = None
    stop: tuple[str, ...] = ()
    retry: RetrySetting | None = None
    fallback: tuple[ModelRef, ...] | None = None  # None: not given; (): given empty (an error)
    breaker: BreakerSetting | None = None
    output: OutputSpec | None = None
    cache: CachePolicy | None = None  # None: the pipeline default (if any) applies


class TransformStep(StepBase):
    kind: Literal["transform"] = "transform"
    # `package.module:function`, or the name of a built-in (upper, lower, strip, json, ...).
    function: str
    reads: tuple[Ident, ...] = ()
    # Builder API only: a Python callable given directly, run in-process, never compiled to a file.
    callable: Any = Field(default=None, exclude=True, repr=False)
    pass_context: bool = False  # seed-style fn(ctx)


class GroupStep(StepBase):
    kind: Literal["parallel"] = "parallel"
    steps: tuple[Annotated[LlmStep | TransformStep, Field(discriminator="kind")], ...]
    concurrency: Any = None


class MapStep(StepBase):
    """`map ITEM in FOR_EACH { body }`: the body runs once per item; the result is the list
    of the body's result (the last body step's output, or `collect`), in item order."""

    kind: Literal["map"] = "map"
    for_each: Ident  # the key holding the list
    item: str = "item"  # the name each item has inside the body
    item_span: Span | None = Field(default=None, exclude=True, repr=False)
    steps: tuple[Annotated[LlmStep | TransformStep, Field(discriminator="kind")], ...]
    concurrency: Any = None
    on_error: Any = "fail"  # "fail" | "skip" | "collect"
    limit: Any = None  # at most this many items (the first ones)
    collect: Ident | None = None  # the body key that is each item's result; None: the last step's


Step = Annotated[LlmStep | TransformStep | GroupStep | MapStep, Field(discriminator="kind")]


# ---- tests (`test` blocks, docs/testing.md) ---------------------------------------------

CompareOp = Literal["==", "!=", "<", "<=", ">", ">=", "contains"]


class ExpectValue(Node):
    """`expect key == value` (or `!=`, `<`, `<=`, `>`, `>=`, `contains`) on an output."""

    kind: Literal["value"] = "value"
    key: Ident
    op: CompareOp
    value: Any = None


class ExpectLength(Node):
    """`expect len(key) <= 400`: a bound on an output's length (characters, or items)."""

    kind: Literal["length"] = "length"
    key: Ident
    op: CompareOp
    value: Any = None


class ExpectMatch(Node):
    """`expect key matches r"^..."`: a regular expression found in the output (`re.search`)."""

    kind: Literal["matches"] = "matches"
    key: Ident
    pattern: str


class ExpectSchema(Node):
    """`expect key valid schema {...}`: the output is valid against a JSON schema."""

    kind: Literal["schema"] = "schema"
    key: Ident
    schema_: dict[str, Any] = Field(alias="schema")

    model_config = ConfigDict(populate_by_name=True)


class ExpectStep(Node):
    """`expect step name ran` (succeeded), `skipped` or `failed`."""

    kind: Literal["step"] = "step"
    step: Ident
    status: str  # ran | skipped | failed (a check reports any other word)


class ExpectCost(Node):
    """`expect cost <= $0.01`: a bound on the run's total cost in US dollars."""

    kind: Literal["cost"] = "cost"
    op: CompareOp
    usd: Any = None


class ExpectLatency(Node):
    """`expect latency <= 2s`: a bound on the run's wall time in seconds."""

    kind: Literal["latency"] = "latency"
    op: CompareOp
    seconds: Any = None


class ExpectJudged(Node):
    """`expect key judged by MODEL "criteria"`: a model call decides (an LLM judge)."""

    kind: Literal["judged"] = "judged"
    key: Ident
    model: ModelRef
    criteria: str


Expectation = Annotated[
    ExpectValue | ExpectLength | ExpectMatch | ExpectSchema | ExpectStep | ExpectCost
    | ExpectLatency | ExpectJudged,
    Field(discriminator="kind"),
]


class TestValue(Node):
    """A test's `input name = value` or `reply step = value` (JSON-like data)."""

    name: Ident
    value: Any = None


class Test(Node):
    """A `test` block (YAML: an entry of `tests:`): inputs, fixed replies, expectations."""

    __test__ = False  # not a pytest test class

    name: str
    name_span: Span | None = Field(default=None, exclude=True, repr=False)
    inputs: tuple[TestValue, ...] = ()
    replies: tuple[TestValue, ...] = ()
    expectations: tuple[Expectation, ...] = ()


# ---- the pipeline -----------------------------------------------------------------------


class Input(Node):
    name: str
    type: str | None = None  # str, int, float, bool, json; None: str
    default: Any = None
    has_default: bool = False


class ModelAlias(Node):
    name: str
    model: ModelRef


class Endpoint(Node):
    """A named OpenAI-compatible endpoint (`providers` block)."""

    name: str
    kind: str = "openai-compatible"
    base_url: str
    api_key_env: str | None = None


class RateLimit(Node):
    """`limit openai/gpt-4o (rpm: 500, tpm: 200000, concurrency: 16)`: the rate limits of a
    model or of a whole provider (`target`), every run in the process sharing them. Values are
    kept as written; the checks report any that is not a number > 0 (MMO820)."""

    target: str
    rpm: Any = None  # requests per minute
    tpm: Any = None  # tokens per minute
    concurrency: Any = None  # calls in flight
    burst: Any = None  # requests the rpm bucket holds


class Defaults(Node):
    retry: RetrySetting | None = None
    breaker: BreakerSetting | None = None
    timeout: Any = None
    cache: CachePolicy | None = None  # for llm steps without their own


class Pipeline(Node):
    name: str
    version: str | None = None
    description: str | None = None
    # Free-form JSON data about the pipeline (the seed's `metadata:`), carried to the trace.
    metadata: dict[str, Any] = Field(default_factory=dict)
    # False when the source declares no inputs: free template variables are then the inputs.
    inputs_declared: bool = False
    inputs: tuple[Input, ...] = ()
    outputs: tuple[Ident, ...] = ()
    models: tuple[ModelAlias, ...] = ()
    providers: tuple[Endpoint, ...] = ()
    retry_policies: tuple[RetryPolicy, ...] = ()
    breaker_policies: tuple[BreakerPolicy, ...] = ()
    defaults: Defaults = Field(default_factory=Defaults)
    steps: tuple[Step, ...] = ()
    # Rate limits (`limit ...`) and the cost budget of one run in USD (`budget $0.50`).
    limits: tuple[RateLimit, ...] = ()
    budget: Any = None
    tests: tuple[Test, ...] = ()  # `test` blocks: run by `mmoc test`, never by the module
    # Comments after the last statement of a .mmo file, kept by `fmt`.
    trailing_comments: tuple[str, ...] = Field(default=(), exclude=True, repr=False)

    def all_steps(self) -> tuple[LlmStep | TransformStep | GroupStep | MapStep, ...]:
        """Every step, group members right after their group, in source order. A map step's
        body is its own scope (checked by `checks.maps`): its steps are not listed here."""
        out: list[LlmStep | TransformStep | GroupStep | MapStep] = []
        for step in self.steps:
            out.append(step)
            if isinstance(step, GroupStep):
                out.extend(step.steps)
        return tuple(out)


CallExpr.model_rebuild()
NotExpr.model_rebuild()
BoolExpr.model_rebuild()
CompareExpr.model_rebuild()
