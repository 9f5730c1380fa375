"""The runtime stands alone: no compiler dependency is imported, the ABI check, the registry."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap

import pytest
from mmoc_runtime import (
    ABI_VERSION,
    AbiMismatchError,
    ConfigError,
    EndpointSpec,
    MockProvider,
    ProviderRegistry,
    check_abi,
    default_registry,
)
from mmoc_runtime.abi import OLDEST_ABI, RUNTIME_VERSION, runtime_range
from mmoc_runtime.catalog import ModelId

FORBIDDEN = ("mmoc", "lark", "jinja2", "black", "pydantic", "yaml", "click", "rich", "aiohttp",
             "httpx")


def test_runtime_runs_a_pipeline_without_any_compiler_dependency() -> None:
    script = textwrap.dedent(
        f"""
        import sys
        import mmoc_runtime as rt
        from mmoc_runtime import conditions

        spec = rt.PipelineSpec(
            "iso",
            inputs=(rt.InputSpec("topic"),),
            steps=(
                rt.LlmStep("a", "openai/gpt-4o", "about {{topic}}", "a",
                           retry=rt.RetryStrategy(max_retries=1),
                           breaker=rt.BreakerPolicy(), fallback=("anthropic/claude-haiku-4-5",)),
                rt.TransformStep("b", lambda a: a.upper(), "b", reads=("a",),
                                 when=lambda v: conditions.exists(v, "a")),
            ),
        )
        result = rt.execute_sync(spec, {{"topic": "x"}}, mock=True)
        assert result.success, result.error
        result.trace.to_json(); result.trace.to_markdown()
        loaded = sorted(m for m in {FORBIDDEN!r}
                        if any(k == m or k.startswith(m + ".") for k in sys.modules))
        print("LOADED", loaded)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "LOADED []" in out.stdout


def test_check_abi_accepts_the_current_version_and_the_older_ones_it_still_runs() -> None:
    for abi in range(OLDEST_ABI, ABI_VERSION + 1):
        check_abi(abi, "pipelines/x_gen.py")


def test_check_abi_names_the_install_that_fixes_it() -> None:
    with pytest.raises(AbiMismatchError) as newer:
        check_abi(ABI_VERSION + 1, "pipelines/x_gen.py")
    assert "pipelines/x_gen.py" in str(newer.value) and "pip install" in str(newer.value)
    # The runtime is its own distribution: the hint installs it, in a range that speaks the ABI.
    assert f'pip install "mmoc-runtime>{RUNTIME_VERSION}"' in str(newer.value)
    assert f"installed mmoc-runtime {RUNTIME_VERSION} speaks ABI" in str(newer.value)
    with pytest.raises(AbiMismatchError) as older:
        check_abi(OLDEST_ABI - 1, "pipelines/old_gen.py")
    assert 'pip install --upgrade "mmoc"' in str(older.value)  # regenerating is the first fix
    assert f'pip install "mmoc-runtime<{RUNTIME_VERSION}"' in str(older.value)
    assert isinstance(older.value, ImportError)  # a generated module fails at import


def test_every_abi_this_runtime_speaks_has_a_range_that_includes_this_release() -> None:
    # A stale table would send users of a current module to a release that cannot run it.
    from mmoc_runtime.abi import _RUNTIME_FOR_ABI

    assert set(range(OLDEST_ABI, ABI_VERSION + 1)) <= set(_RUNTIME_FOR_ABI)
    major_minor = tuple(int(p) for p in RUNTIME_VERSION.split(".")[:2])
    for abi in range(OLDEST_ABI, ABI_VERSION + 1):
        low, high = (tuple(int(p) for p in bound.lstrip("<>=").split("."))
                     for bound in runtime_range(abi).split(","))
        assert low <= major_minor < high, (abi, runtime_range(abi))


def test_registry_builds_one_provider_per_name_and_endpoint() -> None:
    registry = ProviderRegistry()
    mock = registry.get(ModelId("mock", "a"))
    assert isinstance(mock, MockProvider) and registry.get(ModelId("mock", "b")) is mock
    with pytest.raises(ConfigError, match="unknown provider 'nowhere'"):
        registry.get(ModelId("nowhere", "m"))
    mine = MockProvider()
    registry.register("nowhere", mine)
    assert registry.get(ModelId("nowhere", "m")) is mine
    assert default_registry() is default_registry()


def test_registry_routes_endpoints_to_the_openai_compatible_adapter() -> None:
    created: list[tuple[str, object]] = []

    import mmoc_runtime.providers as providers_pkg

    class FakeModule:
        @staticmethod
        def create(name: str, endpoint: object) -> MockProvider:
            created.append((name, endpoint))
            return MockProvider()

    real_import = providers_pkg.importlib.import_module

    def fake_import(name: str) -> object:
        return FakeModule if name.endswith(".openai_compat") else real_import(name)

    local = EndpointSpec("local", "http://127.0.0.1:1/v1")
    registry = ProviderRegistry()
    mp = pytest.MonkeyPatch()
    mp.setattr(providers_pkg.importlib, "import_module", fake_import)
    try:
        first = registry.get(ModelId("local", "llama"), (local,))
        again = registry.get(ModelId("local", "other"), (local,))
        registry.get(ModelId("openai", "gpt-4o"))
    finally:
        mp.undo()
    assert first is again
    assert created == [("local", local), ("openai", None)]
    asyncio.run(registry.aclose_all())
