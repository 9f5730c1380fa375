"""Reply sources: answers to a model call that do not come from the provider.

The llm path (`llm_call`) has one interception point. Before each attempt calls the provider
it asks the run's `ReplySources`, in order, whether one of them has the answer; after a call
succeeds it tells them the answer. Three kinds of source go through it:
- fixed replies (`FixedReplies`, the `replies=` run option): a step's reply given by the caller
  (a test), never sent anywhere;
- a cassette (`cassette.Cassette`, `cassette=`): replays recorded exchanges, or records them;
- the response cache (`response_cache`): answers a request it saw within its time to live.

The order is that: fixed replies, the cassette, the cache. A source that answers stops the
search; every source asked before it is told the answer (a cassette being recorded records a
cache hit), the ones after it are not. A reply from the provider is told to every source. Only
replies that made the attempt succeed (a structured reply that parsed) are told, so no failure
is ever recorded or cached.

A source's `lookup` may raise: a cassette being replayed raises `CassetteMissError` for a
request it does not hold. That fails the attempt like a provider error would.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

from .errors import ConfigError
from .fingerprint import Fingerprint, fingerprint
from .providers.base import LlmRequest, LlmResponse, estimate_tokens
from .spec import LlmStep

# How a reply is paid for, in the trace: `charged` costs what its usage costs (a replayed
# exchange shows what the call cost when recorded), `saved` costs nothing and the trace shows
# the cost it saved (a cache hit), `free` costs nothing (a fixed reply: no call was ever made).
CHARGED = "charged"
SAVED = "saved"
FREE = "free"


class ReplyCall:
    """One attempt's call, as the sources see it: the request, the step it serves, the model
    id as the step requested it (what the trace prices it as; a mock run routes it to the
    mock) and its fingerprint (computed on first use: a fixed reply needs none)."""

    def __init__(self, request: LlmRequest, step: LlmStep, requested: str | None = None) -> None:
        self.request = request
        self.step = step
        self.requested = requested or f"{request.provider}/{request.model}"

    @cached_property
    def fingerprint(self) -> Fingerprint:
        return fingerprint(self.request)


@dataclass(frozen=True)
class Reply:
    """An answer from a source: the response (with its usage), the source's name for the
    trace (`fixed`, `cassette`, `cache`) and how it is paid for (`CHARGED`, `SAVED`, `FREE`)."""

    response: LlmResponse
    source: str
    billing: str = CHARGED


class ReplySource(Protocol):
    """A source of replies (see the module)."""

    def lookup(self, call: ReplyCall) -> Reply | None:
        """The reply to `call`, or None to let the next source (or the provider) answer."""
        ...

    def store(self, call: ReplyCall, response: LlmResponse) -> None:
        """`response` answered `call` successfully (from the provider or a later source)."""
        ...


class ReplySources:
    """The run's sources, asked in order (see the module)."""

    __slots__ = ("sources",)

    def __init__(self, sources: Iterable[ReplySource]) -> None:
        self.sources: tuple[ReplySource, ...] = tuple(sources)

    def lookup(self, call: ReplyCall) -> tuple[Reply, int] | None:
        """The first source's reply and that source's position, or None."""
        for index, source in enumerate(self.sources):
            reply = source.lookup(call)
            if reply is not None:
                return reply, index
        return None

    def store(self, call: ReplyCall, response: LlmResponse, answered_by: int | None) -> None:
        """Tell the sources before `answered_by` (None: the provider answered: all of them)."""
        end = len(self.sources) if answered_by is None else answered_by
        for source in self.sources[:end]:
            source.store(call, response)


class FixedReplies:
    """Replies given per step name (`replies=`): a step's text, or for a structured step its
    JSON value (a mapping or list, sent as JSON text; a string is taken as the JSON text).
    A fixed reply costs nothing and its usage is estimated from the text."""

    __slots__ = ("replies",)

    def __init__(self, replies: Mapping[str, Any]) -> None:
        self.replies = {name: _reply_text(value) for name, value in replies.items()}

    def lookup(self, call: ReplyCall) -> Reply | None:
        text = self.replies.get(call.request.step)
        if text is None:
            return None
        request = call.request
        asked = request.prompt + (request.system or "")
        response = LlmResponse(
            text, input_tokens=estimate_tokens(asked), output_tokens=estimate_tokens(text),
            tokens_estimated=True, finish_reason="stop", model=request.model,
        )
        return Reply(response, "fixed", FREE)

    def store(self, call: ReplyCall, response: LlmResponse) -> None:
        """Nothing to keep: fixed replies are the caller's."""

    def check_steps(self, llm_steps: Iterable[str], other_steps: Iterable[str]) -> None:
        """Raise `ConfigError` naming every fixed reply for a step that is not an llm step."""
        llm = set(llm_steps)
        other = set(other_steps)
        problems = []
        for name in sorted(self.replies):
            if name in llm:
                continue
            why = "is not an llm step" if name in other else "does not exist"
            problems.append(f"{name!r} {why}")
        if problems:
            raise ConfigError(f"fixed replies for steps that cannot take one: "
                              f"{'; '.join(problems)}")


def _reply_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"a fixed reply must be text or JSON data: {exc}") from None
