"""Keys and templates: missing keys, invalid placeholders, near-miss free variables."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from mmoc_runtime.template import Placeholder

from .. import ir
from ..analysis import effective_inputs, parsed_template, produced_keys
from ..diagnostics.model import Diagnostic
from ..source import Span
from .maps import map_scoped_keys
from .support import TYPO_CUTOFF, did_you_mean, first_span, name_span, suggest, text_span


def _template_fields(step: ir.LlmStep) -> Iterator[tuple[str, ir.Text]]:
    yield "prompt", step.prompt
    if step.system is not None:
        yield "system prompt", step.system


@dataclass(frozen=True)
class _Use:
    """A key read by a step; where, worked out only when a diagnostic needs it."""

    step: ir.LlmStep | ir.TransformStep
    key: str
    text: ir.Text | None = None
    placeholder: Placeholder | None = None
    ident: ir.Ident | None = None

    @property
    def span(self) -> Span | None:
        if self.text is not None and self.placeholder is not None:
            ph = self.placeholder
            return text_span(self.text, ph.start, ph.end, self.step.span)
        return first_span(self.ident, name_span(self.step))


def _uses(p: ir.Pipeline) -> Iterator[_Use]:
    """Every key a step reads, once per step, at its first use in that step."""
    for step in p.all_steps():
        if isinstance(step, ir.LlmStep):
            seen: set[str] = set()
            for _, text in _template_fields(step):
                for part in parsed_template(text.value).parts:
                    if isinstance(part, Placeholder) and part.name not in seen:
                        seen.add(part.name)
                        yield _Use(step, part.name, text=text, placeholder=part)
        elif isinstance(step, ir.TransformStep):
            names: set[str] = set()
            for ident in step.reads:
                if ident.name not in names:
                    names.add(ident.name)
                    yield _Use(step, ident.name, ident=ident)


def check_placeholders(p: ir.Pipeline) -> Iterator[Diagnostic]:
    for step in p.all_steps():
        if not isinstance(step, ir.LlmStep):
            continue
        for field, text in _template_fields(step):
            for problem in parsed_template(text.value).problems:
                yield Diagnostic(
                    "MMO302",
                    f"invalid placeholder in the {field} of step `{step.name}`: {problem.message}",
                    text_span(text, problem.start, problem.end, step.span),
                    label="not a `{name}` placeholder",
                    help="write `{name}` for a value, `{{` and `}}` for literal braces",
                )


def check_missing_keys(p: ir.Pipeline) -> Iterator[Diagnostic]:
    if not p.inputs_declared:
        return  # every free key is an input; near misses are check_possible_typos' job
    produced = produced_keys(p)
    inputs = set(effective_inputs(p))
    known = [*effective_inputs(p), *produced]  # built once, not once per miss
    scoped = map_scoped_keys(p)  # a map's item or body key: MMO802/MMO803 say it better
    for use in _uses(p):
        key = use.key
        if key in produced or key in inputs or key in scoped:
            continue
        hint = did_you_mean(key, known)
        yield Diagnostic(
            "MMO301",
            f"step `{use.step.name}` reads `{key}`, which is neither an input nor the output "
            "of any step",
            use.span,
            label="unknown key",
            help=hint or f"declare `{key}` as an input, or add a step that produces it",
        )


def check_possible_typos(p: ir.Pipeline) -> Iterator[Diagnostic]:
    """With inputs undeclared, a free variable that nearly matches a produced key is a typo."""
    if p.inputs_declared:
        return
    produced = produced_keys(p)
    if not produced:
        return
    free = set(effective_inputs(p))
    verdict: dict[str, str | None] = {}  # one difflib search per free name, not per use
    for use in _uses(p):
        key = use.key
        if key not in free:
            continue
        if key not in verdict:
            verdict[key] = _stored_elsewhere(key, p, produced) or suggest(
                key, produced, cutoff=TYPO_CUTOFF
            )
        near = verdict[key]
        if near is None:
            continue
        yield Diagnostic(
            "MMO303",
            f"step `{use.step.name}` reads `{key}`, which no step produces; did you mean "
            f"`{near}` (produced by step `{produced[near].name}`)?",
            use.span,
            label=f"did you mean `{near}`?",
            help=f"write `{{{near}}}`; if `{key}` really is an input, declare the inputs",
        )


def _stored_elsewhere(key: str, p: ir.Pipeline, produced: Mapping[str, object]) -> str | None:
    """For `<step>_output` when that step stores its output under another key: that key.
    The seed's default key of a step is no input a user would pass; reading it is a mistake
    to report at check time, not a missing input at run time."""
    if not key.endswith("_output"):
        return None
    owner = key.removesuffix("_output")
    for step in p.all_steps():
        if step.name == owner and step.output_key is not None and step.output_key in produced:
            return step.output_key
    return None


CHECKS = (check_placeholders, check_missing_keys, check_possible_typos)
