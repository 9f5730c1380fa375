"""OpenTelemetry stays optional: `import mmoc_runtime` never loads it, and a missing install
gives an ImportError that says what to install."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest


def run_python(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], check=False,
                          capture_output=True, text=True, timeout=60)


def test_importing_and_running_the_runtime_does_not_load_opentelemetry() -> None:
    out = run_python("""
        import sys
        import mmoc_runtime as rt
        spec = rt.PipelineSpec("p", steps=(rt.LlmStep("a", "mock/a", "hi", "a"),))
        result = rt.run_sync(spec, {}, observer=rt.PipelineObserver())
        assert result.success, result.error
        result.trace.to_json(); result.trace.to_markdown()
        print("LOADED", sorted(m for m in sys.modules if m.split(".")[0] == "opentelemetry"))
        """)
    assert out.returncode == 0, out.stderr
    assert "LOADED []" in out.stdout


def test_without_opentelemetry_the_import_error_names_the_extra() -> None:
    # A None entry in sys.modules makes `import opentelemetry` fail as if it were not installed.
    out = run_python("""
        import sys
        sys.modules["opentelemetry"] = None
        try:
            import mmoc_runtime.otel
        except ImportError as exc:
            print("MESSAGE", exc)
        else:
            print("IMPORTED")
        """)
    assert out.returncode == 0, out.stderr
    assert 'MESSAGE mmoc_runtime.otel needs OpenTelemetry: install it with pip install ' \
           '"mmoc-runtime[otel]"' in out.stdout


def test_with_opentelemetry_installed_the_module_imports() -> None:
    pytest.importorskip("opentelemetry.trace")
    out = run_python("""
        import mmoc_runtime.otel as otel
        print("OK", otel.OtelObserver.__mro__[1].__name__, callable(otel.export_trace))
        """)
    assert out.returncode == 0, out.stderr
    assert "OK PipelineObserver True" in out.stdout
