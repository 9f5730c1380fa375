"""Project configuration: `[tool.mmoc]` in `pyproject.toml`, or `mmoc.toml` (same keys, at
its top level), found from the working directory upwards; `mmoc.toml` wins in one folder.

    [tool.mmoc]
    select = ["MMO1", "MMO4"]          # codes, code prefixes, slugs, or "ALL" (the default)
    extend-select = ["unused-input"]   # added to `select`
    ignore = ["unknown-model"]         # taken out (warnings and notes only)
    per-file-ignores = {"legacy/*.mmo" = ["MMO106"]}
    exclude = ["vendor/", "*_draft.mmo"]
    strict = true                      # warnings fail the check, as --strict
    src = ["pipelines"]                # where `mmoc check` with no paths looks
    providers = ["vllm"]               # provider names the checks accept (any model name)
    [tool.mmoc.models]                 # models the catalog lacks (a fine-tune, a local model)
    "openai/ft:gpt-4o-mini:acme::x1" = {input = 0.30, output = 1.20}   # USD per million tokens
    [tool.mmoc.limits]                 # rate limits `mmoc run` applies (docs/batch.md)
    "openai/gpt-4o" = {rpm = 500, tpm = 200000, concurrency = 16}
    anthropic = {rpm = 50}             # a whole provider

Only warnings and notes can be deselected: an error means no module can be generated. Paths
in `per-file-ignores` and `exclude` are relative to the folder holding the configuration. A
mistake in the configuration is a `ConfigError` (the CLI prints it and exits 2). `tomllib`
only: reading the configuration must not slow the linter down.
"""

from __future__ import annotations

import fnmatch
import math
import os
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .diagnostics.codes import CODES
from .diagnostics.model import Diagnostic
from .suppressions import code_named

if TYPE_CHECKING:
    from mmoc_runtime.limiter import Limits
    from mmoc_runtime.pricing import Price

CONFIG_FILES = ("mmoc.toml", "pyproject.toml")
_KEYS = frozenset({"select", "extend-select", "ignore", "per-file-ignores", "exclude", "strict",
                   "src", "models", "providers", "limits"})
_PRICE_KEYS = frozenset({"input", "output", "cached_input"})


class ConfigError(Exception):
    """The configuration file is not valid: the message names the file and the key."""


@dataclass(frozen=True)
class ModelPrice:
    """USD per million tokens of a model declared in the configuration (None: not given)."""

    input: float | None = None
    output: float | None = None
    cached_input: float | None = None


@dataclass(frozen=True)
class Config:
    root: Path | None = None  # the folder holding the configuration file
    file: Path | None = None
    selected: frozenset[str] = frozenset(CODES)
    per_file_ignores: tuple[tuple[str, frozenset[str]], ...] = ()
    exclude: tuple[str, ...] = ()
    strict: bool = False
    src: tuple[str, ...] = (".",)
    models: Mapping[str, ModelPrice] = field(default_factory=dict)
    providers: tuple[str, ...] = ()
    limits: Mapping[str, Limits] = field(default_factory=dict)  # by provider or model

    def with_options(
        self, select: Sequence[str] = (), ignore: Sequence[str] = (),
        extend_select: Sequence[str] = ()
    ) -> Config:
        """This configuration with the command line's `--select`/`--ignore` applied over it
        (a `--select` replaces the file's selection, as in ruff)."""
        base = set(self.selected) if not select else None
        chosen = _selection(base, select, extend_select, ignore, where="--")
        return replace(self, selected=chosen)

    def filter(self, diags: Iterable[Diagnostic]) -> list[Diagnostic]:
        """The diagnostics selected for their file: errors always are."""
        return [d for d in diags if d.is_error or d.code in self._selected_for(d)]

    def _selected_for(self, d: Diagnostic) -> frozenset[str]:
        if d.span is None or not self.per_file_ignores:
            return self.selected
        relative = self.relative(Path(d.span.file))
        ignored = {c for pattern, codes in self.per_file_ignores
                   if _matches(relative, pattern) for c in codes}
        return self.selected - ignored

    def relative(self, path: Path) -> str:
        """`path` relative to the configuration's folder (POSIX), or as given outside it."""
        if self.root is None:
            return path.as_posix()
        try:
            return Path(os.path.relpath(path.absolute(), self.root)).as_posix()
        except ValueError:  # another drive on Windows
            return path.as_posix()

    def prices(self) -> dict[str, Price]:
        """The declared models that give both an input and an output price, as the runtime's
        `Price` (`pricing.declare_prices`): what `mmoc run`, `mmoc test` and the budget check
        cost them at. A model without them is priced as any other (table, else default)."""
        from mmoc_runtime.pricing import Price

        return {
            model: Price(price.input, price.output, price.cached_input, as_of="declared")
            for model, price in self.models.items()
            if price.input is not None and price.output is not None
        }

    def excluded(self, path: Path) -> bool:
        relative = self.relative(path)
        return any(_matches(relative, pattern) for pattern in self.exclude)


def _matches(relative: str, pattern: str) -> bool:
    """A glob over the relative path (`*` crosses folders, as in ruff's per-file-ignores);
    `dir/` or a bare folder name matches everything under it."""
    pattern = pattern.removeprefix("./")
    if fnmatch.fnmatchcase(relative, pattern):
        return True
    folder = pattern.rstrip("/")
    parts = relative.split("/")
    return any(fnmatch.fnmatchcase("/".join(parts[:i]), folder) for i in range(1, len(parts)))


def _selection(
    base: set[str] | None, select: Sequence[str], extend_select: Sequence[str],
    ignore: Sequence[str], where: str
) -> frozenset[str]:
    """`base` (or what `select` names), plus `extend_select`, minus `ignore`; errors always."""
    chosen = base if base is not None else _expand(select, f"{where}select")
    chosen |= _expand(extend_select, f"{where}extend-select")
    chosen -= _deselectable(_expand(ignore, f"{where}ignore"), f"{where}ignore")
    return frozenset(chosen | _errors())


def _errors() -> frozenset[str]:
    return frozenset(c.code for c in CODES.values() if c.severity == "error")


def _expand(names: Iterable[str], where: str) -> set[str]:
    """Codes named by codes, slugs, code prefixes (`MMO4`) or `ALL`."""
    codes: set[str] = set()
    for name in names:
        if not isinstance(name, str):
            raise ConfigError(f"{where}: {name!r} is not a code")
        text = name.strip()
        if text.upper() == "ALL":
            codes |= set(CODES)
            continue
        code = code_named(text)
        prefixed = {c for c in CODES if c.startswith(text.upper())} if text else set()
        if code is None and not (prefixed and text.upper().startswith("MMO")):
            raise ConfigError(f"{where}: unknown diagnostic code {name!r} "
                              "(codes and slugs: docs/diagnostics.md)")
        codes |= {code} if code is not None else prefixed
    return codes


def _deselectable(codes: set[str], where: str) -> set[str]:
    errors = sorted(codes & _errors())
    if len(errors) == len(codes) and len(codes) == 1:
        raise ConfigError(f"{where}: {errors[0]} is an error, which cannot be ignored")
    return codes - set(errors)  # a prefix (`MMO4`) takes its warnings, leaves its errors


def find_config(start: Path) -> Path | None:
    """The nearest `mmoc.toml`, or `pyproject.toml` with a `[tool.mmoc]` table, from `start`
    up to the filesystem root."""
    start = start.absolute()
    for folder in (start, *start.parents):
        mmoc = folder / "mmoc.toml"
        if mmoc.is_file():
            return mmoc
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and "[tool.mmoc" in _read(pyproject):
            return pyproject
    return None


def load_config(start: Path | None = None, file: Path | None = None) -> Config:
    """The configuration for a run from `start` (default: the working directory), or read
    from `file`; the defaults when there is none."""
    path = file if file is not None else find_config(start or Path.cwd())
    if path is None:
        return Config()
    try:
        data = tomllib.loads(_read(path))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    table = data if path.name != "pyproject.toml" else data.get("tool", {}).get("mmoc", {})
    return parse_config(table, path)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None


def parse_config(table: Mapping[str, Any], path: Path) -> Config:
    if not isinstance(table, Mapping):
        raise ConfigError(f"{path}: [tool.mmoc] is not a table")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown key `{unknown[0]}` (keys: {', '.join(sorted(_KEYS))})")
    select = _strings(table, "select", path)
    return Config(
        root=path.parent.absolute(),
        file=path,
        selected=_selection(
            None if "select" in table else set(CODES), select,
            _strings(table, "extend-select", path), _strings(table, "ignore", path),
            where=f"{path}: ",
        ),
        per_file_ignores=_per_file_ignores(table.get("per-file-ignores", {}), path),
        exclude=tuple(_strings(table, "exclude", path)),
        strict=_bool(table, "strict", path),
        src=tuple(_strings(table, "src", path)) or (".",),
        models=_models(table.get("models", {}), path),
        providers=tuple(_strings(table, "providers", path)),
        limits=_limits(table.get("limits", {}), path),
    )


def _strings(table: Mapping[str, Any], key: str, path: Path) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: `{key}` must be a list of strings")
    return value


def _bool(table: Mapping[str, Any], key: str, path: Path) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise ConfigError(f"{path}: `{key}` must be true or false")
    return value


def _per_file_ignores(value: Any, path: Path) -> tuple[tuple[str, frozenset[str]], ...]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{path}: `per-file-ignores` must be a table of pattern = [codes]")
    out = []
    for pattern, names in value.items():
        if not isinstance(names, list):
            raise ConfigError(f"{path}: `per-file-ignores.\"{pattern}\"` must be a list of codes")
        where = f"{path}: per-file-ignores.\"{pattern}\""
        codes = _deselectable(_expand(names, where), where)
        out.append((pattern, frozenset(codes)))
    return tuple(out)


def _models(value: Any, path: Path) -> dict[str, ModelPrice]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{path}: `models` must be a table of \"provider/model\" = {{...}}")
    models: dict[str, ModelPrice] = {}
    for model, spec in value.items():
        if "/" not in model:
            raise ConfigError(f"{path}: model `{model}` must be written provider/model")
        if not isinstance(spec, Mapping) or set(spec) - _PRICE_KEYS or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v < math.inf
            for v in spec.values()
        ):
            raise ConfigError(f"{path}: model `{model}` takes prices per million tokens: "
                              "{input = 0.3, output = 1.2, cached_input = 0.15}")
        models[model] = ModelPrice(**{k: float(v) for k, v in spec.items()})
    return models


_LIMIT_KEYS = frozenset({"rpm", "tpm", "concurrency", "burst"})


def _limits(value: Any, path: Path) -> dict[str, Limits]:
    """`[tool.mmoc.limits]`: "provider/model" (or a provider) = {rpm, tpm, concurrency, burst}."""
    from mmoc_runtime.limiter import Limits  # only when there are limits: `check` stays light

    if not isinstance(value, Mapping):
        raise ConfigError(f"{path}: `limits` must be a table of \"provider/model\" = {{...}}")
    limits: dict[str, Limits] = {}
    for model, spec in value.items():
        if not isinstance(spec, Mapping) or not spec or set(spec) - _LIMIT_KEYS or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and v > 0
            for v in spec.values()
        ) or not isinstance(spec.get("concurrency", 1), int):
            raise ConfigError(f"{path}: limit `{model}` takes numbers > 0: "
                              "{rpm = 500, tpm = 200000, concurrency = 16}")
        limits[model] = Limits(**dict(spec.items()))
    return limits
