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


Step = Annotated[LlmStep | TransformStep | GroupStep, Field(discriminator="kind")]


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
    # Comments after the last statement of a .mmo file, kept by `fmt`.
    trailing_comments: tuple[str, ...] = Field(default=(), exclude=True, repr=False)

    def all_steps(self) -> tuple[LlmStep | TransformStep | GroupStep, ...]:
        """Every step, group members right after their group, in source order."""
        out: list[LlmStep | TransformStep | GroupStep] = []
        for step in self.steps:
            out.append(step)
            if isinstance(step, GroupStep):
                out.extend(step.steps)
        return tuple(out)


CallExpr.model_rebuild()
NotExpr.model_rebuild()
BoolExpr.model_rebuild()
CompareExpr.model_rebuild()
