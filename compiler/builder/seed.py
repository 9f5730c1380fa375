"""Seed-compatible views of IR steps: `PipelineStep`, `StepType`, and the conversions
between a view and the plain IR node behind it (`seed_step`, `plain_step`).

The seed's steps were one mutable dataclass with `step_type`, a string `model`,
`prompt_template`, `depends_on`, `sub_steps`, `validate()`, `render_prompt()` and `to_dict()`.
Ours are IR nodes, so the checks and the code generator see exactly what the front ends give
them. The classes below are those IR nodes with the seed's names added as read-only views;
`Pipeline.to_ir()` turns them back into plain IR (`plain_step`). The step factories that make
them live in `builder_steps`.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import PrivateAttr

from .. import ir


class StepType(StrEnum):
    LLM = "llm"
    TRANSFORM = "transform"
    CONDITIONAL = "conditional"
    PARALLEL_GROUP = "parallel_group"


class SeedModelRef(ir.ModelRef):
    """A model reference that also equals its id string (`step.model == "gpt-4"`)."""

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return self.id == other
        if isinstance(other, ir.ModelRef):
            return self.id == other.id
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.id)

    def __str__(self) -> str:
        return self.id


class PipelineStep:
    """The seed's step class. `PipelineStep(name=..., model=..., prompt_template=...,
    step_type=StepType.LLM, ...)` builds the matching step, and every step the builder hands
    out (from the factories, `Pipeline.steps`, `Pipeline.from_yaml`) is a `PipelineStep`."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if cls is PipelineStep:
            # The factories build on these views, so they import this module: import them
            # here, at call time, rather than in a cycle at import time.
            from .steps import step_from_seed_fields

            return step_from_seed_fields(*args, **kwargs)
        return super().__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Views are made with `model_construct` (already validated IR); nothing to do."""

    _seed_type: StepType | None
    _condition_text: str | None
    _inner: Any
    if TYPE_CHECKING:  # the IR fields every view has (declared by the IR class it mixes into)
        name: str
        output_key: str | None
        model: Any

    @property
    def step_type(self) -> StepType:
        if self._seed_type is not None:
            return self._seed_type
        kind = getattr(self, "kind", "llm")
        return {"llm": StepType.LLM, "transform": StepType.TRANSFORM}.get(
            kind, StepType.PARALLEL_GROUP
        )

    @property
    def prompt_template(self) -> str:
        prompt = getattr(self, "prompt", None)
        return prompt.value if prompt is not None else ""

    @property
    def depends_on(self) -> str | list[str] | None:
        names = [a.name for a in getattr(self, "after", ())]
        return None if not names else names[0] if len(names) == 1 else names

    @property
    def condition(self) -> str | None:
        if self._condition_text is not None:
            return self._condition_text
        when = getattr(self, "when", None)
        if when is None:
            return None
        from ..expr_text import print_expr  # the `.mmo` spelling of an expression

        return print_expr(when)

    @property
    def transform_fn(self) -> Any:
        return getattr(self, "callable", None) or getattr(self, "function", None)

    @property
    def sub_steps(self) -> list[Any]:
        if self._inner is not None:
            return [self._inner]
        return list(getattr(self, "steps", ()))

    @property
    def timeout_seconds(self) -> float | None:
        timeout = getattr(self, "timeout", None)
        return float(timeout) if isinstance(timeout, (int, float)) else None

    @property
    def max_retries(self) -> int:
        retry = getattr(self, "retry", None)
        return retry.max_retries if isinstance(retry, ir.RetryPolicy) else 0

    def validate(self) -> list[str]:
        """The step's own required fields, as messages (empty when complete). Whole-pipeline
        problems (missing keys, cycles, unknown models) come from `Pipeline.validate()`."""
        errors: list[str] = []
        if not getattr(self, "name", ""):
            errors.append("step name is required")
        label = f"step {getattr(self, 'name', '')!r}"
        kind = getattr(self, "kind", "")
        if kind == "llm":
            if not self.model.id:
                errors.append(f"{label}: model is required for llm steps")
            if not self.prompt_template:
                errors.append(f"{label}: prompt_template is required for llm steps")
        elif kind == "transform" and not self.transform_fn:
            errors.append(f"{label}: transform_fn is required for transform steps")
        elif kind == "parallel" and not getattr(self, "steps", ()):
            errors.append(f"{label}: sub_steps required for a parallel group")
        return errors

    def render_prompt(self, context: Mapping[str, Any]) -> str:
        """The prompt with `{name}` filled from `context`, exactly as a run fills it."""
        from mmoc_runtime.errors import TemplateError
        from mmoc_runtime.template import render

        try:
            return render(self.prompt_template, context)
        except TemplateError as exc:
            raise ValueError(f"step {getattr(self, 'name', '')!r}: missing variable or bad "
                             f"placeholder in prompt template: {exc}") from exc

    def to_dict(self) -> dict[str, Any]:
        """The seed's step dict (`name`, `step_type`, `output_key`, then what is set)."""
        out: dict[str, Any] = {"name": self.name, "step_type": str(self.step_type),
                               "output_key": self.output_key}
        model = getattr(self, "model", None)
        extra = {
            "model": model.id if model is not None else None,
            "prompt": self.prompt_template or None,
            "condition": self.condition,
            "depends_on": self.depends_on,
            "timeout_seconds": self.timeout_seconds,
            "max_retries": self.max_retries or None,
            "sub_steps": [s.to_dict() for s in self.sub_steps] or None,
        }
        out.update({k: v for k, v in extra.items() if v is not None})
        return out


class SeedLlmStep(PipelineStep, ir.LlmStep):  # type: ignore[misc]
    _seed_type: StepType | None = PrivateAttr(default=None)
    _condition_text: str | None = PrivateAttr(default=None)
    _inner: Any = PrivateAttr(default=None)


class SeedTransformStep(PipelineStep, ir.TransformStep):  # type: ignore[misc]
    _seed_type: StepType | None = PrivateAttr(default=None)
    _condition_text: str | None = PrivateAttr(default=None)
    _inner: Any = PrivateAttr(default=None)


class SeedGroupStep(PipelineStep, ir.GroupStep):  # type: ignore[misc]
    _seed_type: StepType | None = PrivateAttr(default=None)
    _condition_text: str | None = PrivateAttr(default=None)
    _inner: Any = PrivateAttr(default=None)


_VIEW_OF: dict[type, Any] = {ir.LlmStep: SeedLlmStep, ir.TransformStep: SeedTransformStep,
                              ir.GroupStep: SeedGroupStep}
_PLAIN_OF: dict[type, Any] = {view: plain for plain, view in _VIEW_OF.items()}


def _fields(node: ir.Node) -> dict[str, Any]:
    return {name: getattr(node, name) for name in type(node).model_fields}


def seed_step(node: Any, *, condition_text: str | None = None, seed_type: StepType | None = None,
              inner: Any = None) -> Any:
    """`node` as a seed view (already one: returned as is unless something is to be set)."""
    if isinstance(node, PipelineStep) and condition_text is seed_type is inner is None:
        return node
    plain = plain_step(node)
    fields = _fields(plain)
    if isinstance(plain, ir.LlmStep):
        fields["model"] = SeedModelRef.model_construct(**_fields(plain.model))
    if isinstance(plain, ir.GroupStep):
        fields["steps"] = tuple(seed_step(m) for m in plain.steps)
    view = _VIEW_OF[type(plain)].model_construct(_fields_set=plain.model_fields_set, **fields)
    old = node if isinstance(node, PipelineStep) else None
    view._seed_type = seed_type or (old._seed_type if old else None)
    view._condition_text = condition_text or (old._condition_text if old else None)
    view._inner = inner or (old._inner if old else None)
    return view


def plain_step(node: Any) -> Any:
    """The plain IR node behind a seed view (plain IR is returned as is)."""
    plain_type = _PLAIN_OF.get(type(node))
    if plain_type is None:
        return node
    fields = _fields(node)
    if isinstance(node, ir.LlmStep):
        fields["model"] = ir.ModelRef.model_construct(**_fields(node.model))
    if isinstance(node, ir.GroupStep):
        fields["steps"] = tuple(plain_step(m) for m in node.steps)
    return plain_type.model_construct(_fields_set=node.model_fields_set, **fields)
