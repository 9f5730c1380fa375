"""The Python builder API (seed-compatible): `Pipeline` and its validation errors.

A `Pipeline` collects IR steps (made by the factories in `steps`, seen through the
seed's views in `views`) and produces the same `ir.Pipeline` the front ends produce;
it reads and writes `.mmo`, YAML, the seed's dict form and the generated Python module.
`executor` runs it; `results` holds what a run returns.

Declaration order: everywhere else it never matters, but a seed-style transform (a callable
with no declared `reads`, called as `fn(ctx)`) cannot say what it reads, so `add_step` makes it
run after every step added before it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Self

from .. import ir
from ..diagnostics.model import Diagnostic
from ..driver import LoadResult, check, compile_pipeline, load_path, load_text
from .steps import PipelineStep, StepNode, all_steps, is_inline, plain_step, seed_step

# The seed's default, shown by `Pipeline.version` when none was given (the IR keeps None, so
# a printed `.mmo` or YAML file does not gain a version line it never had).
DEFAULT_VERSION = "1.0"


class PipelineValidationError(ValueError):
    """A pipeline has errors; `diagnostics` carries every one of them (not only the first)."""

    def __init__(
        self, diagnostics: Iterable[Diagnostic], name: str = "pipeline", title: str | None = None
    ) -> None:
        self.diagnostics: list[Diagnostic] = list(diagnostics)
        heading = title or f"{name} is not valid"
        lines = [f"{heading} ({len(self.errors)} error(s)):"]
        lines.extend(f"  {_one_line(d)}" for d in self.diagnostics)
        super().__init__("\n".join(lines))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]


class ValidationMessage(str):
    """One error from `Pipeline.validate()`: the one-line text (a `str`, as the seed's
    messages were), with the diagnostic behind it in `.diagnostic` and its `.code`."""

    diagnostic: Diagnostic

    def __new__(cls, diagnostic: Diagnostic) -> Self:
        message = super().__new__(cls, _one_line(diagnostic))
        message.diagnostic = diagnostic
        return message

    @property
    def code(self) -> str:
        return self.diagnostic.code


def _one_line(d: Diagnostic) -> str:
    where = f"{d.span.file}:{d.span.line}:{d.span.column}: " if d.span is not None else ""
    text = f"{where}{d.level}[{d.code}]: {d.message}"
    return f"{text} (help: {d.help})" if d.help else text


def _loaded_ir(loaded: LoadResult, title: str | None = None) -> ir.Pipeline:
    """The parsed IR of a load without checks (they run in `validate()`), or the raise."""
    if loaded.path is not None and loaded.text is None and not loaded.path.is_file():
        # As `open()` would: a missing file is no invalid pipeline (seed callers catch this).
        raise FileNotFoundError(f"cannot read pipeline {str(loaded.path)!r}: no such file")
    if loaded.pipeline is None or loaded.errors:
        raise PipelineValidationError(loaded.diagnostics, loaded.display_path, title=title)
    return loaded.pipeline


def compile_checked(
    p: ir.Pipeline, source_path: str, *, inline: bool = False, format: bool = True
) -> str:
    """The generated module's code, as `mmoc compile` makes it (`inline=True` allows Python
    callables as transforms, for an in-process run; `format=False` skips black for code that
    is only executed). Raises `PipelineValidationError` with every diagnostic when the
    pipeline has errors."""
    compiled = compile_pipeline(
        p, source_path=source_path, source_text="", inline=inline, format=format
    )
    if not compiled.ok or compiled.code is None:
        raise PipelineValidationError(compiled.diagnostics, f"pipeline {p.name!r}")
    return compiled.code


def _input_node(item: str | ir.Input | tuple[str, str]) -> ir.Input:
    if isinstance(item, ir.Input):
        return item
    if isinstance(item, tuple):
        return ir.Input(name=item[0], type=item[1])
    return ir.Input(name=item)


class Pipeline:
    """A pipeline built in Python. `add_step` is chainable; `to_ir()` gives the IR."""

    def __init__(
        self,
        name: str,
        description: str | None = None,
        version: str | None = None,
        *,
        steps: Iterable[StepNode] | None = None,
        metadata: Mapping[str, Any] | None = None,
        inputs: Iterable[str | ir.Input | tuple[str, str]] | Mapping[str, str] | None = None,
        outputs: Iterable[str] | None = None,
    ) -> None:
        if isinstance(description, (list, tuple)):
            # The seed's positional order was (name, steps, description, version).
            steps, description, version = description, version, None
        self.name = name
        self.description = description or ""  # the seed's default; the IR keeps None
        self._version = version
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.steps: list[StepNode] = []
        declared: list[ir.Input] = []
        if isinstance(inputs, Mapping):
            declared = [ir.Input(name=k, type=v) for k, v in inputs.items()]
        elif inputs is not None:
            declared = [_input_node(i) for i in inputs]
        # Everything the builder does not set itself (policies, aliases, endpoints) lives
        # here, so a pipeline loaded from YAML keeps it through `to_ir()`.
        self._base = ir.Pipeline(
            name=name,
            inputs_declared=inputs is not None,
            inputs=tuple(declared),
            outputs=tuple(ir.Ident(name=o) for o in outputs or ()),
        )
        for step in steps or ():
            self.add_step(step)

    @property
    def version(self) -> str:
        return self._version or DEFAULT_VERSION

    @version.setter
    def version(self, value: str | None) -> None:
        self._version = value

    # ---- building -------------------------------------------------------------------

    def add_step(self, step: StepNode) -> Pipeline:
        if not isinstance(step, (ir.LlmStep, ir.TransformStep, ir.GroupStep)):
            raise TypeError(
                f"add_step() takes a step from create_llm_step / create_transform_step / "
                f"create_parallel_group / create_conditional_step, not {type(step).__name__}"
            )
        if isinstance(step, ir.TransformStep) and step.pass_context:
            # The one place declaration order counts (see the module docstring).
            earlier = [ir.Ident(name=s.name) for s in self.steps]
            known = {a.name for a in step.after}
            step = step.model_copy(
                update={"after": (*step.after, *(e for e in earlier if e.name not in known))}
            )
        self.steps.append(seed_step(step))
        return self

    def __len__(self) -> int:
        return len(self.steps)

    def get_step(self, name: str) -> StepNode | None:
        for step in self.steps:
            if step.name == name:
                return step
        return None

    # ---- IR and checks --------------------------------------------------------------

    def to_ir(self) -> ir.Pipeline:
        return self._base.model_copy(
            update={
                "name": self.name,
                "description": self.description or None,
                "version": self._version,
                "metadata": dict(self.metadata),
                "steps": tuple(plain_step(s) for s in self.steps),
            }
        )

    @classmethod
    def from_ir(cls, p: ir.Pipeline) -> Pipeline:
        pipeline = cls(p.name, p.description, p.version, metadata=p.metadata)
        pipeline._base = p.model_copy(update={"steps": ()})
        pipeline.steps = [seed_step(s) for s in p.steps]
        return pipeline

    def diagnostics(self) -> list[Diagnostic]:
        """Every diagnostic the checks report (warnings included); never raises."""
        return check(self.to_ir())

    def validate(self) -> list[ValidationMessage]:
        """Run every check `mmoc check` runs and return the errors, all of them, as one-line
        messages (`str`, with `.diagnostic` and `.code`); an empty list means valid. Warnings
        are not errors: see `diagnostics()`."""
        return [ValidationMessage(d) for d in self.diagnostics() if d.is_error]

    def check(self) -> list[Diagnostic]:
        """Run every check; raise one `PipelineValidationError` carrying all diagnostics when
        any is an error, else return the warnings."""
        found = self.diagnostics()
        if any(d.is_error for d in found):
            raise PipelineValidationError(found, f"pipeline {self.name!r}")
        return found

    # ---- the seed's dict form -------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The seed's dict: name, version, description, steps (each `step.to_dict()`)."""
        out: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "description": self.description or "",
            "steps": [s.to_dict() if isinstance(s, PipelineStep) else s for s in self.steps],
        }
        if self.metadata:
            out["metadata"] = self.metadata
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], file: str = "<dict>") -> Pipeline:
        """A pipeline from the seed's YAML schema given as a dict (read as `from_yaml`
        reads it, so the same mistakes are reported the same way)."""
        import yaml

        if not isinstance(data, Mapping):
            raise PipelineValidationError(
                [], file, title=f"Invalid pipeline: expected a mapping, not {type(data).__name__}"
            )
        return cls.from_yaml(yaml.safe_dump(dict(data), sort_keys=False), file)

    # ---- YAML -----------------------------------------------------------------------

    @classmethod
    def from_yaml(cls, text: str, file: str = "<yaml>") -> Pipeline:
        loaded = load_text(text, file, ".yaml", checks=False)
        return cls.from_ir(_loaded_ir(loaded, title=f"Invalid YAML pipeline {file}"))

    @classmethod
    def from_yaml_file(cls, path: str | Path) -> Pipeline:
        loaded = load_path(path, checks=False, suffix=".yaml")
        return cls.from_ir(_loaded_ir(loaded, title=f"Invalid YAML pipeline {path}"))

    @classmethod
    def from_mmo(cls, text: str, file: str = "<mmo>") -> Pipeline:
        return cls.from_ir(_loaded_ir(load_text(text, file, ".mmo", checks=False)))

    @classmethod
    def from_file(cls, path: str | Path) -> Pipeline:
        """A `.mmo` or YAML file (by suffix, as `mmoc` reads it); syntax and schema errors
        raise `PipelineValidationError`, a missing file `FileNotFoundError`."""
        return cls.from_ir(_loaded_ir(load_path(path, checks=False)))

    def to_mmo(self) -> str:
        self._refuse_inline("as .mmo")
        from ..frontends.mmo.printer import print_mmo

        return print_mmo(self.to_ir())

    def _refuse_inline(self, what: str) -> None:
        inline = [s.name for s in all_steps(self.steps) if is_inline(s)]
        if inline:
            raise ValueError(
                f"cannot write pipeline {self.name!r} {what}: transform(s) "
                f"{', '.join(inline)} are Python callables; give them as 'package.module:function'"
            )

    def to_yaml(self) -> str:
        self._refuse_inline("as YAML")
        from ..frontends.yaml.printer import print_yaml

        return print_yaml(self.to_ir())

    # ---- code -----------------------------------------------------------------------

    def to_python(self, source_path: str | None = None) -> str:
        """The module `mmoc compile` would write for this pipeline.

        Raises `PipelineValidationError` on any error, including MMO701 for a transform given
        as a Python callable: a file needs `"package.module:function"` instead.
        """
        return compile_checked(self.to_ir(), source_path or f"builder:{self.name}")

    def __repr__(self) -> str:
        return (f"Pipeline(name={self.name!r}, version={self.version!r}, "
                f"steps={[s.name for s in self.steps]!r})")
