"""Fallback chain (seed name `FallbackChain`): ordered options, the first success wins.

Every failure moves on to the next option, client errors included: a prompt one model rejects
(too long, a blocked word, a bad key for that provider) may well pass on another. When all
options fail, `FallbackExhaustedError` (a `RuntimeError` whose message starts `All fallback
options failed`, as in the earlier library) lists each option with its error, in order. An
empty chain raises `RuntimeError("FallbackChain has no options configured ...")`.

An option may carry a `CircuitBreaker`: while that breaker rejects, the option is skipped
without being called (its entry in the error list is the `CircuitOpenError`), and its outcome
is recorded on the breaker when it is called.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .breaker import CircuitBreaker
from .errors import FallbackExhaustedError


@dataclass(frozen=True)
class FallbackOption:
    name: str
    fn: Callable[..., Any]
    breaker: CircuitBreaker | None = None


class FallbackChain:
    def __init__(self) -> None:
        self._options: list[FallbackOption] = []

    def add_option(
        self, name: str, fn: Callable[..., Any], *, breaker: CircuitBreaker | None = None
    ) -> FallbackChain:
        """Append an option; returns the chain so calls can be chained."""
        if any(option.name == name for option in self._options):
            raise ValueError(f"fallback option {name!r} is already in the chain")
        self._options.append(FallbackOption(name, fn, breaker))
        return self

    @property
    def options(self) -> tuple[str, ...]:
        """Option names in the order they are tried."""
        return tuple(option.name for option in self._options)

    def __len__(self) -> int:
        return len(self._options)

    def _check_not_empty(self) -> None:
        # A RuntimeError with the earlier library's words: its users catch and match them.
        if not self._options:
            raise RuntimeError("FallbackChain has no options configured: call add_option first")

    def execute(self, /, *args: Any, **kwargs: Any) -> tuple[str, Any]:
        """Try each option with the arguments; return (name of the option that answered, result).

        Raises `FallbackExhaustedError` (a `RuntimeError`) when every option failed.
        """
        self._check_not_empty()
        errors: list[tuple[str, BaseException]] = []
        for option in self._options:
            try:
                if option.breaker is not None:
                    result = option.breaker.call(option.fn, *args, **kwargs)
                else:
                    result = option.fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - any failure moves on to the next option
                errors.append((option.name, exc))
                continue
            return option.name, result
        raise FallbackExhaustedError(errors)

    async def aexecute(self, /, *args: Any, **kwargs: Any) -> tuple[str, Any]:
        """Async `execute`; each option may be a coroutine function or a plain one."""
        self._check_not_empty()
        errors: list[tuple[str, BaseException]] = []
        for option in self._options:
            try:
                if option.breaker is not None:
                    result = await option.breaker.acall(option.fn, *args, **kwargs)
                else:
                    result = option.fn(*args, **kwargs)
                    if inspect.isawaitable(result):
                        result = await result
            except Exception as exc:  # noqa: BLE001 - any failure moves on to the next option
                errors.append((option.name, exc))
                continue
            return option.name, result
        raise FallbackExhaustedError(errors)
