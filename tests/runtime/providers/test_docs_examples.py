"""Every pipeline example in docs/providers.md is a whole file that `mmoc check` accepts.

Each ```mmo / ```yaml block is loaded as a file of its own with `mmoc.driver.load_text`, so a
reader can paste any block into a file and run it. A block opens with a `# NAME.mmo` (or
`.yaml`) comment, and every `mmoc check` / `mmoc run` in a ```sh block names one of those
files, so the commands run the pipeline shown beside them.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from mmoc import driver as loader

DOC = Path(__file__).resolve().parents[3] / "docs" / "providers.md"
FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
FILE_NAME = re.compile(r"^# (\S+\.(?:mmo|yaml))\s*$")


def blocks(language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(DOC.read_text("utf-8")) if lang == language]


def pipeline_blocks() -> list[tuple[str, str, str]]:
    """(file name from the first line, suffix, text) of every mmo and yaml block."""
    found = []
    for suffix in ("mmo", "yaml"):
        for text in blocks(suffix):
            first = text.splitlines()[0] if text else ""
            match = FILE_NAME.match(first)
            name = match.group(1) if match else f"<unnamed {suffix} block: {first!r}>"
            found.append((name, suffix, text))
    return found


EXAMPLES = pipeline_blocks()


def test_the_doc_has_examples_for_every_provider() -> None:
    assert len([e for e in EXAMPLES if e[1] == "mmo"]) >= 6
    assert len([e for e in EXAMPLES if e[1] == "yaml"]) >= 2
    text = "\n".join(e[2] for e in EXAMPLES)
    for provider in ("openai/", "ollama/", "local/", "anthropic/", "gemini-"):
        assert provider in text


@pytest.mark.parametrize(("name", "suffix", "text"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_every_example_is_a_whole_file_mmoc_check_accepts(
    name: str, suffix: str, text: str
) -> None:
    assert name.endswith(f".{suffix}"), f"the block should open with `# NAME.{suffix}`: {name}"
    result = loader.load_text(text, f"docs/providers.md:{name}", f".{suffix}")
    problems = [f"{d.code} {d.message}" for d in result.errors]
    assert result.pipeline is not None and not problems, problems


def test_file_names_are_unique_and_every_shell_command_runs_a_shown_file() -> None:
    names = [name for name, _, _ in EXAMPLES]
    assert len(names) == len(set(names))
    used = []
    for script in blocks("sh"):
        for line in script.splitlines():
            words = shlex.split(line, comments=True)
            for i, word in enumerate(words[:-1]):
                if word == "mmoc" and words[i + 1] in ("check", "run", "compile"):
                    used.append(words[i + 2])
    assert used, "the shell examples should run the pipelines shown"
    assert set(used) <= set(names), set(used) - set(names)


def test_the_openai_shell_example_runs_an_openai_pipeline() -> None:
    shown = {name: text for name, _, text in EXAMPLES}
    section = DOC.read_text("utf-8").split("## OpenAI\n", 1)[1].split("\n## ", 1)[0]
    (script,) = [body for lang, body in FENCE.findall(section) if lang == "sh"]
    ran = [w for w in shlex.split(script, comments=True) if w.endswith(".mmo")]
    assert ran and all("openai/" in shown[name] for name in ran)
