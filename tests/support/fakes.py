"""Test doubles shared by the runtime tests: a fake clock/sleep and a scripted provider."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from mmoc_runtime.errors import LlmError
from mmoc_runtime.providers.base import LlmRequest, LlmResponse


class FakeTime:
    """A clock that only moves when the code under test sleeps; every sleep is recorded."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@dataclass
class ScriptedProvider:
    """Answers from a script: each call pops the next item (an exception is raised)."""

    name: str = "scripted"
    script: list[Any] = field(default_factory=list)
    requests: list[LlmRequest] = field(default_factory=list)
    default: LlmResponse = field(default_factory=lambda: LlmResponse("ok", 1000, 500))

    async def complete(self, request: LlmRequest) -> LlmResponse:
        self.requests.append(request)
        item = self.script.pop(0) if self.script else self.default
        if isinstance(item, BaseException):
            raise item
        return item

    async def aclose(self) -> None:
        return None


def rate_limited(message: str = "slow down") -> LlmError:
    return LlmError("rate_limit", message, status=429)
