"""The hooks of .pre-commit-hooks.yaml, run by real `pre-commit` in a scratch git repository.

The hook repository is a snapshot of this checkout's working tree (committed in a temporary
repository, as `pre-commit try-repo` does), so the test sees the hooks and the code as they are
now. pre-commit builds the hook's environment with pip (about half a minute, once for the whole
module); when that cannot be done (no pre-commit, no package index) the test is skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Generous bounds: building the environment installs mmoc and its dependencies.
INSTALL_TIMEOUT = 600
RUN_TIMEOUT = 120
# The one beside this interpreter (the project's virtualenv), else any on PATH.
FOUND = shutil.which("pre-commit", path=str(Path(sys.executable).parent)) or shutil.which(
    "pre-commit")
PRE_COMMIT = FOUND or "pre-commit"

CLEAN = 'pipeline t {\n  output y\n  step a = llm mock/x { prompt "hi" } -> y\n}\n'
# An error (a cycle) and a warning (an unknown model), each to be printed exactly once.
BROKEN = """pipeline b {
  step a = llm gpt-9 { prompt "A {b_out}" } -> a_out
  step b = llm openai/gpt-4o-mini { prompt "B {a_out}" } -> b_out
}
"""

pytestmark = pytest.mark.skipif(FOUND is None, reason="pre-commit is not installed")


def git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True,
                          timeout=RUN_TIMEOUT)


def snapshot(dest: Path) -> str:
    """This checkout's tracked and untracked, not ignored, files committed in `dest`."""
    listed = git(ROOT, "ls-files", "-co", "--exclude-standard", "-z").stdout.split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    git(dest, "init", "-q")
    git(dest, "add", "-A")
    git(dest, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "snapshot")
    return git(dest, "rev-parse", "HEAD").stdout.strip()


@pytest.fixture(scope="module")
def hooks(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, dict[str, str]]:
    """(hook repository, its rev, environment with a private PRE_COMMIT_HOME), installed."""
    base = tmp_path_factory.mktemp("pre-commit")
    (base / "hooks").mkdir()
    rev = snapshot(base / "hooks")
    env = {**os.environ, "PRE_COMMIT_HOME": str(base / "home"), "PRE_COMMIT_COLOR": "never",
           "NO_COLOR": "1"}
    probe = make_repo(base / "probe", base / "hooks", rev)
    try:
        done = subprocess.run([PRE_COMMIT, "install-hooks"], cwd=probe, env=env, check=False,
                              capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.skip("pre-commit could not build the hook environment in time")
    if done.returncode != 0:
        pytest.skip(f"pre-commit could not build the hook environment: {done.stdout[-500:]}")
    return base / "hooks", rev, env


def make_repo(where: Path, hooks_repo: Path, rev: str) -> Path:
    where.mkdir()
    git(where, "init", "-q")
    git(where, "config", "user.name", "t")
    git(where, "config", "user.email", "t@t")
    (where / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hooks_repo}\n    rev: {rev}\n    hooks:\n"
        "      - id: mmoc-compile\n      - id: mmoc-check\n")
    git(where, "add", ".pre-commit-config.yaml")
    return where


def commit(repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "commit", "-qm", "change"], cwd=repo, env=env, check=False,
                          capture_output=True, text=True, timeout=RUN_TIMEOUT)


def test_a_new_pipeline_cannot_be_committed_without_its_module(
    hooks: tuple[Path, str, dict[str, str]], tmp_path: Path
) -> None:
    hooks_repo, rev, env = hooks
    repo = make_repo(tmp_path / "repo", hooks_repo, rev)
    subprocess.run([PRE_COMMIT, "install"], cwd=repo, env=env, check=True,
                   capture_output=True, timeout=RUN_TIMEOUT)
    (repo / "t.mmo").write_text(CLEAN)
    git(repo, "add", "t.mmo")
    first = commit(repo, env)
    assert first.returncode != 0 and "wrote t_gen.py" in first.stdout + first.stderr
    assert (repo / "t_gen.py").is_file()
    git(repo, "add", "t_gen.py")
    second = commit(repo, env)
    assert second.returncode == 0, second.stdout + second.stderr
    # Changing the pipeline changes the module: the commit stops again.
    (repo / "t.mmo").write_text(CLEAN.replace('"hi"', '"hello"'))
    git(repo, "add", "t.mmo")
    assert commit(repo, env).returncode != 0
    assert '"hello"' in (repo / "t_gen.py").read_text()


def test_with_both_hooks_each_diagnostic_prints_once(
    hooks: tuple[Path, str, dict[str, str]], tmp_path: Path
) -> None:
    hooks_repo, rev, env = hooks
    repo = make_repo(tmp_path / "repo", hooks_repo, rev)
    (repo / "b.mmo").write_text(BROKEN)
    git(repo, "add", "b.mmo")
    done = subprocess.run([PRE_COMMIT, "run", "--files", "b.mmo"], cwd=repo, env=env, check=False,
                          capture_output=True, text=True, timeout=RUN_TIMEOUT)
    output = done.stdout + done.stderr
    assert done.returncode == 1
    assert output.count("error[MMO201]") == 1 and output.count("warning[MMO401]") == 1, output
    assert "b.mmo has errors, not compiled" in output
    assert not (repo / "b_gen.py").exists()
