"""The seed's view of a step: `StepType` and `StepView`, the seed's step fields and methods
read from the IR node it mixes into (`model` is the model id as a plain `str`, as the seed's).

The seed's steps were one mutable dataclass with `step_type`, a string `model`,
`prompt_template`, `depends_on`, `sub_steps`, `validate()`, `render_prompt()` and `to_dict()`.
Ours are IR nodes, so the checks and the code generator see exactly what the front ends give
them. The step classes (`steps.PipelineStep` and its IR-node subclasses) are those IR nodes with
the seed's names added as read-only views; `Pipeline.to_ir()` turns them back into plain IR.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from .. import ir


class StepType(StrEnum):
    LLM = "llm"
    TRANSFORM = "transform"
    CONDITIONAL = "conditional"
    PARALLEL_GROUP = "parallel_group"


def model_id(step: Any) -> str:
    """The seed's `step.model`: the model id as a plain `str` (`.upper()`, `json.dumps`, `in`
    and Rich work on it). Installed as the `model` property of the llm step view, over the IR
    field, which stays in the node and is read with `model_ref`."""
    ref: ir.ModelRef = step.__dict__["model"]
    return ref.id


class StepView:
    """The seed's step fields and methods, read from the IR node a step view mixes into (see
    `steps.PipelineStep`, the public class)."""

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
    def model_ref(self) -> ir.ModelRef | None:
        """The IR model reference behind `model` (None for steps without a model)."""
        ref = self.__dict__.get("model")
        return ref if isinstance(ref, ir.ModelRef) else None

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
            if not self.model:
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
        extra = {
            "model": getattr(self, "model", None),
            "prompt": self.prompt_template or None,
            "condition": self.condition,
            "depends_on": self.depends_on,
            "timeout_seconds": self.timeout_seconds,
            "max_retries": self.max_retries or None,
            "sub_steps": [s.to_dict() for s in self.sub_steps] or None,
        }
        out.update({k: v for k, v in extra.items() if v is not None})
        return out
