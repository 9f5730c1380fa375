"""`mmoc run --backend ray` usage: the Ray options only with --data, and a Ray backend that
cannot start (here: Ray not importable) is exit 2 with the reason, before any row runs and
without a traceback. (The backend itself: tests/runtime/ray.)"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from support.cli_invoke import invoke

QUICK = """\
pipeline quick {
  input text: str
  step a = llm mock/m {
    prompt "say {text}"
  } -> x
}
"""


def _files(tmp_path: Path) -> tuple[Path, Path]:
    pipeline = tmp_path / "quick.mmo"
    pipeline.write_text(QUICK, encoding="utf-8")
    data = tmp_path / "rows.jsonl"
    data.write_text(json.dumps({"text": "a"}) + "\n", encoding="utf-8")
    return pipeline, data


@pytest.mark.parametrize("option", [["--backend", "ray"], ["--address", "auto"],
                                    ["--workers", "2"]])
def test_ray_options_go_with_data_only(tmp_path: Path, option: list[str]) -> None:
    pipeline, _ = _files(tmp_path)
    code, _, err = invoke(["run", str(pipeline), "--mock", "-i", "text=a", *option])
    assert code == 2
    assert "--backend, --address and --workers go with --data" in err


def test_without_ray_the_backend_is_a_usage_error_and_no_row_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pipeline, data = _files(tmp_path)
    out = tmp_path / "out.jsonl"
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    code, _, err = invoke(["run", str(pipeline), "--data", str(data), "--out", str(out),
                           "--mock", "--backend", "ray"])
    assert code == 2, err
    assert 'error: --backend ray: the Ray backend needs Ray: pip install "mmoc[ray]"' in err
    assert "Traceback" not in err
    assert out.read_text(encoding="utf-8") == ""
