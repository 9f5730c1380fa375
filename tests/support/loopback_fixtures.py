"""Pytest fixtures for the loopback provider server: import them into a conftest.

    from support.loopback_fixtures import loopback, loopback_server, provider_env
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.loopback import ANTHROPIC_KEY, GEMINI_KEY, OPENAI_KEY, LoopbackServer


@pytest.fixture(scope="session")
def loopback_server() -> Iterator[LoopbackServer]:
    server = LoopbackServer().start()
    yield server
    server.stop()


@pytest.fixture
def loopback(loopback_server: LoopbackServer) -> Iterator[LoopbackServer]:
    loopback_server.reset()
    yield loopback_server
    loopback_server.reset()


@pytest.fixture
def provider_env(loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> LoopbackServer:
    """Every provider's base URL and key set for the loopback server."""
    monkeypatch.setenv("OPENAI_BASE_URL", loopback.url + "/v1")
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", loopback.url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    monkeypatch.setenv("GEMINI_BASE_URL", loopback.url)
    monkeypatch.setenv("GEMINI_API_KEY", GEMINI_KEY)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.setenv("OLLAMA_BASE_URL", loopback.url + "/v1")
    monkeypatch.delenv("MMOC_HTTP_READ_TIMEOUT", raising=False)
    monkeypatch.delenv("MMOC_HTTP_CONNECT_TIMEOUT", raising=False)
    return loopback
