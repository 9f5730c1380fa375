"""Fallback chain (seed name `FallbackChain`): ordered options, the first success wins.

Every failure moves on to the next option, client errors included: a prompt one model rejects
(too long, a blocked word, a bad key for that provider) may well pass on another. When all
options fail, `FallbackExhaustedError` (a `RuntimeError` whose message starts `All fallback
options failed`, as in the earlier library) lists each option with its error, in order. An
empty chain raises `RuntimeError("FallbackChain has no options configured ...")`.

An option may carry a `CircuitBreaker`: while that breaker rejects, the option is skipped
without being called (its entry in the error list is the `CircuitOpenError`), and its outcome
is recorded on the breaker when it is called.

`execute`/`aexecute` run the executor's own fallback and attempt loops (`attempts`), one
attempt per option, so an llm step's fallback models and a chain's options behave alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .attempts import drive, first_success, guarded_call
from .breaker import CircuitBreaker


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
        return drive(self._first_success(args, kwargs, sync=True))

    async def aexecute(self, /, *args: Any, **kwargs: Any) -> tuple[str, Any]:
        """Async `execute`; each option may be a coroutine function or a plain one."""
        return await self._first_success(args, kwargs, sync=False)

    async def _first_success(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], sync: bool
    ) -> tuple[str, Any]:
        self._check_not_empty()
        options = tuple(self._options)  # an option added meanwhile waits for the next call

        async def attempt(index: int) -> tuple[str, Any]:
            option = options[index]
            return option.name, await guarded_call(option.fn, args, kwargs, option.breaker, sync)

        return await first_success([option.name for option in options], attempt)
