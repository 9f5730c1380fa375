"""Inputs that could block or exhaust the process, so each runs `python -m mmoc` in its own
process under a hard timeout and a memory cap: YAML alias and merge bombs, deep nesting, and
special files as the pipeline (a FIFO, /dev/zero, a directory, symlink loops). Both `mmoc
check` and `mmoc compile` must hold the fuzz property (support.fuzz).

The cases start together and run two at a time (the suite's time is the slowest pair, not
the sum); each test then checks its own case's outcomes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from support.fuzz import Outcome, assert_well_behaved, check_and_compile_in_subprocess, long_run


def _laughs(levels: int = 9, width: int = 10) -> str:
    """The billion laughs: each level an anchored list of `width` aliases to the one below."""
    lines = ['l0: &l0 ["lol"]']
    for i in range(1, levels + 1):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def _merges(levels: int = 24) -> str:
    """Merge keys two-wide at each level: flattening repeats the level below twice."""
    lines = ["m0: &m0 {k: v}"]
    for i in range(1, levels + 1):
        lines.append(f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}], k{i}: v}}")
    return "\n".join(lines) + "\n"


def _step(extra: str) -> str:
    return f"steps:\n  - name: s\n    model: mock/x\n    prompt: hi\n    output_key: o\n{extra}"


# name -> the YAML pipeline's text.
BOMBS = {
    "aliases-in-schema": "name: bomb\n"
    + _laughs()
    + _step("    schema: {type: object, enum: *l9}\n"),
    "aliases-as-stop": "name: bomb\n" + _laughs() + _step("    stop: *l9\n"),
    "aliases-as-steps": "name: bomb\n"
    + "s0: &s0 {name: s, model: mock/x, prompt: hi}\n"
    + "".join(f"s{i}: &s{i} [" + ", ".join([f"*s{i - 1}"] * 10) + "]\n" for i in range(1, 8))
    + "steps: *s7\n",
    "aliases-as-default": "name: bomb\n"
    + _laughs()
    + "inputs: {x: {type: json, default: *l9}}\n"
    + _step(""),
    "merge-keys": "name: bomb\n" + _merges() + _step("    schema: *m24\n"),
    "merge-keys-in-step": "name: bomb\n"
    + _merges()
    + "steps:\n  - <<: *m24\n    name: s\n    model: mock/x\n    prompt: hi\n",
    "deep-flow-nesting": "name: bomb\n"
    + _step("    schema: " + "[" * 50_000 + "]" * 50_000 + "\n"),
    "deep-block-nesting": "name: bomb\n"
    + _step("    schema:\n" + "".join(" " * (6 + i) + "- \n" for i in range(5_000))),
}


def _fifo(root: Path) -> str:
    os.mkfifo(root / "pipe.mmo")
    return "pipe.mmo"


def _dev_zero_link(root: Path) -> str:
    (root / "zero.yaml").symlink_to("/dev/zero")
    return "zero.yaml"


def _directory(root: Path) -> str:
    (root / "folder.mmo").mkdir()
    return "folder.mmo"


def _self_loop(root: Path) -> str:
    (root / "loop.mmo").symlink_to("loop.mmo")
    return "loop.mmo"


def _two_link_loop(root: Path) -> str:
    (root / "a.yaml").symlink_to("b.yaml")
    (root / "b.yaml").symlink_to("a.yaml")
    return "a.yaml"


def _folder_with_specials(root: Path) -> str:
    """A folder to search that holds a FIFO, a link to /dev/zero and a symlink loop."""
    folder = root / "tree"
    folder.mkdir()
    os.mkfifo(folder / "pipe.mmo")
    (folder / "zero.mmo").symlink_to("/dev/zero")
    (folder / "loop.yaml").symlink_to("loop.yaml")
    return "tree"


# name -> makes the special file under a fresh folder and returns the path to pass.
SPECIALS: dict[str, Callable[[Path], str]] = {
    "fifo": _fifo,
    "dev-zero": lambda root: "/dev/zero",
    "dev-zero-link": _dev_zero_link,
    "directory": _directory,
    "symlink-self-loop": _self_loop,
    "symlink-two-loop": _two_link_loop,
    "folder-with-specials": _folder_with_specials,
}
# The suite runs one case of each kind (subprocesses are slow to start); a long run
# (`make fuzz`) runs every case.
SUITE_BOMBS = ("aliases-in-schema", "merge-keys-in-step")
SUITE_SPECIALS = ("fifo", "dev-zero-link", "directory", "symlink-self-loop", "folder-with-specials")


def _cases(names: dict[str, object], suite: Sequence[str]) -> list[str]:
    return list(names) if long_run() else [name for name in names if name in suite]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Outcome]]:
    """Every case's `check` and `compile` outcomes, run two cases at a time."""
    jobs: dict[str, tuple[str | Path, Path]] = {}
    for name in _cases(BOMBS, SUITE_BOMBS):
        text = BOMBS[name]
        root = tmp_path_factory.mktemp(f"bomb-{name}")
        (root / "bomb.yaml").write_text(text, encoding="utf-8")
        jobs[f"bomb:{name}"] = ("bomb.yaml", root)
    for name in _cases(SPECIALS, SUITE_SPECIALS):
        make = SPECIALS[name]
        root = tmp_path_factory.mktemp(f"special-{name}")
        jobs[f"special:{name}"] = (make(root), root)
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            key: pool.submit(check_and_compile_in_subprocess, source, root)
            for key, (source, root) in jobs.items()
        }
        return {key: future.result() for key, future in futures.items()}


@pytest.mark.parametrize("name", _cases(BOMBS, SUITE_BOMBS))
def test_yaml_bombs(name: str, outcomes: dict[str, list[Outcome]]) -> None:
    for outcome in outcomes[f"bomb:{name}"]:
        assert_well_behaved(outcome)


@pytest.mark.parametrize("name", _cases(SPECIALS, SUITE_SPECIALS))
def test_special_files_as_the_pipeline(name: str, outcomes: dict[str, list[Outcome]]) -> None:
    for outcome in outcomes[f"special:{name}"]:
        assert_well_behaved(outcome)
