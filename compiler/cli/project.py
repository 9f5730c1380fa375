"""The project a command runs in: its configuration (`[tool.mmoc]` or `mmoc.toml`, see
`mmoc.config`) with the command line's `--select`/`--ignore` over it, and its pipelines when no
path is given (the `src` folders, minus what `.gitignore` and `exclude` leave out).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..config import Config, ConfigError, load_config
from ..driver import MMO_SUFFIXES, SOURCE_SUFFIXES
from .common import EXIT_USAGE, collect_sources, display_path
from .terminal import Terminal, verbose

# Seconds `git ls-files` may take before the folders are walked instead.
GIT_TIMEOUT = 30


def project_config(
    select: tuple[str, ...] = (), ignore: tuple[str, ...] = (),
    extend_select: tuple[str, ...] = (), config_file: Path | None = None,
) -> Config:
    """The configuration found from the working directory, the options applied; a bad one
    is reported (`error: ...`) and the command exits 2."""
    try:
        config = load_config(file=config_file)
        if select or ignore or extend_select:
            config = config.with_options(select, ignore, extend_select)
        verbose(f"configuration: {config.file or 'none found (defaults)'}")
        return config
    except ConfigError as exc:
        Terminal(stderr=True).print(f"error: {exc}", style="red")
        sys.exit(EXIT_USAGE)


def sources_of(paths: tuple[Path, ...], config: Config) -> list[tuple[Path, str]]:
    """The files named and the sources in the folders named; with no path, the project's."""
    if paths:
        return collect_sources(paths, excluded=config.excluded)
    root = config.root or Path.cwd()
    roots = [root / src for src in config.src]
    # YAML only from folders the configuration names as `src`: a project's root holds other
    # YAML (CI, compose, docs) that is no pipeline.
    suffixes = SOURCE_SUFFIXES if config.src != (".",) else MMO_SUFFIXES
    tracked = _git_files(root, roots, suffixes)
    if tracked is None:
        return collect_sources(roots, suffixes, excluded=config.excluded)
    return [(p, display_path(p)) for p in tracked if not config.excluded(p)]


def _git_files(root: Path, roots: list[Path], suffixes: tuple[str, ...]) -> list[Path] | None:
    """Source files under `roots` that git tracks or would track (`.gitignore` respected),
    outside hidden folders, sorted; None outside a git work tree or without git."""
    import subprocess  # only for a project-wide check: git lists its files

    try:
        done = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z", "--",
             *(str(r) for r in roots)],
            cwd=root, capture_output=True, timeout=GIT_TIMEOUT, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    names = sorted({n for n in done.stdout.decode("utf-8", "replace").split("\0") if n})
    files = [root / n for n in names if n.lower().endswith(suffixes)
             and not any(part.startswith(".") for part in n.split("/"))]
    return [f for f in files if f.is_file()]


def no_sources_message(paths: tuple[Path, ...]) -> str:
    if paths:
        return "warning: no pipeline sources (.mmo, .yaml, .yml) found"
    return "warning: no pipeline sources (.mmo, .yaml, .yml) found in this project"


def repository_root(project_root: Path | None) -> str | None:
    """What SARIF's URIs are relative to: `--project-root`, else git's top level, else None
    (the working directory)."""
    if project_root is not None:
        return str(project_root.absolute())
    import subprocess  # only for SARIF: git says where the repository starts

    try:
        done = subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True,
                              timeout=GIT_TIMEOUT, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    top = done.stdout.decode("utf-8", "replace").strip()
    return top if done.returncode == 0 and top else None


def sarif_root(fmt: str, project_root: Path | None) -> str | None:
    """The root SARIF's URIs are relative to (git is asked only for SARIF)."""
    return repository_root(project_root) if fmt == "sarif" else None


project_root_option = click.option(
    "--project-root", type=click.Path(path_type=Path, file_okay=False),
    help="SARIF's URIs are relative to this folder (default: the git repository's top level).")

config_option = click.option(
    "--config", "config_file", type=click.Path(path_type=Path, dir_okay=False),
    help="Read this mmoc.toml or pyproject.toml instead of the one found from here.")
