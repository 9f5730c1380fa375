"""Cassettes: model exchanges recorded to a JSONL file and replayed from it.

A `Cassette` is a reply source (`replies`). In `record` mode it asks nothing and keeps every
successful exchange of the run (the provider's reply, or a cache hit); `save` writes them into
the file, keeping the exchanges already there (one of the same step and request is replaced).
In `replay` mode it answers every call from the file and never lets one reach a provider: a
request it does not hold fails with `CassetteMissError` (kind `cassette_miss`), which names the
step, the model and the nearest recorded request with a diff of what changed.

The file: a header line, then one exchange per line, sorted by step then fingerprint, each as
deterministic JSON (sorted keys), so a re-recorded cassette diffs line by line in review:

    {"mmoc_cassette":1}
    {"chunks":null,"fingerprint":"3f2a...","request":{...},"response":{...},"step":"draft"}

`request` is the fingerprint's canonical request (`fingerprint`), `response` the reply's text
and usage, `chunks` the streamed chunks of a streamed reply (null otherwise). No key or header
is ever recorded; every text (prompts, reply) passes through the runtime's redaction
(`redaction.scrub`) first. An exchange is found by its step and fingerprint, or by its
fingerprint alone (a renamed step still replays).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .errors import ConfigError, LlmError
from .files import read_regular_file, write_file
from .fingerprint import canonical_json
from .providers.base import LlmResponse
from .redaction import scrub
from .replies import CHARGED, Reply, ReplyCall

RECORD = "record"
REPLAY = "replay"
MODES = (RECORD, REPLAY)
FORMAT_VERSION = 1
HEADER = {"mmoc_cassette": FORMAT_VERSION}
# A cassette may hold many long prompts: read up to this much (the default limit is 1 MiB).
MAX_CASSETTE_BYTES = 256 * 1024 * 1024

Key = tuple[str, str]  # (step, fingerprint digest)


class CassetteMissError(LlmError):
    """A replayed run made a request its cassette does not hold."""

    def __init__(self, message: str, *, provider: str, model: str) -> None:
        super().__init__("cassette_miss", message, provider=provider, model=model)


class Cassette:
    """A cassette file (see the module), opened for `record` or `replay`."""

    def __init__(self, path: str | os.PathLike[str], mode: str = REPLAY) -> None:
        if mode not in MODES:
            raise ConfigError(f"cassette mode must be one of {', '.join(MODES)}, not {mode!r}")
        self.path = os.fspath(path)
        self.mode = mode
        self.exchanges: dict[Key, dict[str, Any]] = {}
        self.recorded: dict[Key, dict[str, Any]] = {}  # this session's, written by `save`
        self._secrets: Callable[[], Iterable[str]] = tuple
        self._loaded = False

    def __repr__(self) -> str:
        return f"Cassette({self.path!r}, mode={self.mode!r})"

    # -- opening and saving -------------------------------------------------------------

    def open(self, secrets: Callable[[], Iterable[str]] = tuple) -> Cassette:
        """Read the file (once; a missing file is an empty cassette when recording, an error
        when replaying) and take the run's secrets (a function: read only when something is
        recorded). Raises `ConfigError` for a file that cannot be read or is not a cassette."""
        self._secrets = secrets
        if not self._loaded:
            self.exchanges = read_exchanges(self.path, missing_ok=self.mode == RECORD)
            self._loaded = True
        return self

    def save(self) -> None:
        """Write the recorded exchanges into the file, keeping the others already there (read
        again now: another run may have added some). Raises `OSError`."""
        if not self.recorded:
            return
        exchanges = read_exchanges(self.path, missing_ok=True)
        exchanges.update(self.recorded)
        write_file(self.path, cassette_text(exchanges.values()))
        self.exchanges = exchanges

    # -- the reply source ---------------------------------------------------------------

    def lookup(self, call: ReplyCall) -> Reply | None:
        if self.mode == RECORD:
            return None
        exchange = self._find(call)
        if exchange is None:
            raise self._miss(call)
        return Reply(response_from(exchange["response"]), "cassette", CHARGED)

    def store(self, call: ReplyCall, response: LlmResponse) -> None:
        if self.mode != RECORD:
            return
        secrets = tuple(self._secrets())
        exchange = {
            "step": call.request.step,
            "fingerprint": call.fingerprint.digest,
            "request": scrub(dict(call.fingerprint.request), secrets),
            "response": scrub(response_record(response), secrets),
            "chunks": None,
        }
        key = (call.request.step, call.fingerprint.digest)
        self.recorded[key] = self.exchanges[key] = exchange

    def _find(self, call: ReplyCall) -> dict[str, Any] | None:
        digest = call.fingerprint.digest
        exchange = self.exchanges.get((call.request.step, digest))
        if exchange is not None:
            return exchange
        for (_, recorded_digest), other in sorted(self.exchanges.items()):
            if recorded_digest == digest:
                return other
        return None

    def _miss(self, call: ReplyCall) -> CassetteMissError:
        request = call.request
        model = f"{request.provider}/{request.model}"
        head = (f"step {request.step!r}: no exchange recorded in cassette {self.path} for "
                f"this request to {model}")
        nearest = nearest_exchange(self.exchanges.values(), request.step,
                                   call.fingerprint.request)
        if nearest is None:
            message = f"{head} (the cassette is empty); record it with --record"
        else:
            diff = request_diff(nearest["request"], call.fingerprint.request)
            message = (f"{head}; the nearest recorded request (step {nearest['step']!r}) "
                       f"differs:\n{diff}")
        return CassetteMissError(message, provider=request.provider, model=request.model)


def from_options(record: str | None, replay: str | None) -> Cassette | None:
    """The cassette of a command line's `--record PATH` / `--replay PATH` (at most one; the
    caller's parser refuses both), or None."""
    if record is not None:
        return Cassette(record, RECORD)
    if replay is not None:
        return Cassette(replay, REPLAY)
    return None


# ----------------------------------------------------------------------------- the file


def cassette_text(exchanges: Iterable[Mapping[str, Any]]) -> str:
    """The file's text: the header, then the exchanges sorted by step then fingerprint."""
    ordered = sorted(exchanges, key=lambda e: (e["step"], e["fingerprint"]))
    return "".join(canonical_json(item) + "\n" for item in [HEADER, *ordered])


def read_exchanges(path: str, *, missing_ok: bool) -> dict[Key, dict[str, Any]]:
    """The exchanges of the cassette at `path`, by (step, fingerprint)."""
    try:
        raw = read_regular_file(path, MAX_CASSETTE_BYTES)
    except FileNotFoundError:
        if missing_ok:
            return {}
        raise ConfigError(f"cassette {path} does not exist (record it with --record)") from None
    except OSError as exc:
        raise ConfigError(f"cannot read cassette {path}: {exc.strerror or exc}") from None
    exchanges: dict[Key, dict[str, Any]] = {}
    for number, line in enumerate(raw.decode("utf-8", "replace").splitlines(), 1):
        if not line.strip():
            continue
        item = _parsed_line(path, number, line)
        if number == 1 and "mmoc_cassette" in item:
            if item["mmoc_cassette"] != FORMAT_VERSION:
                raise ConfigError(f"{path}:1: cassette format {item['mmoc_cassette']!r} is not "
                                  f"{FORMAT_VERSION}, the one this runtime reads")
            continue
        exchanges[(item["step"], item["fingerprint"])] = item
    return exchanges


def _parsed_line(path: str, number: int, line: str) -> dict[str, Any]:
    try:
        item = json.loads(line)
    except ValueError as exc:
        raise ConfigError(f"{path}:{number}: not a cassette line (invalid JSON: {exc})") from None
    fields = ("step", "fingerprint", "request", "response")
    if not isinstance(item, dict) or (
            "mmoc_cassette" not in item and not all(name in item for name in fields)):
        raise ConfigError(f"{path}:{number}: not a cassette line (an exchange has "
                          f"{', '.join(fields)})")
    if "response" in item and not isinstance(item["response"], dict):
        raise ConfigError(f"{path}:{number}: an exchange's response must be an object")
    return item


def response_record(response: LlmResponse) -> dict[str, Any]:
    """A response as the cassette keeps it: its text and usage."""
    return {
        "text": response.text,
        "input_tokens": response.input_tokens,
        "output_tokens": response.output_tokens,
        "cached_input_tokens": response.cached_input_tokens,
        "tokens_estimated": response.tokens_estimated,
        "finish_reason": response.finish_reason,
        "model": response.model,
    }


def response_from(record: Mapping[str, Any]) -> LlmResponse:
    """The response a recorded one describes (missing usage counts as 0)."""
    return LlmResponse(
        text=str(record.get("text", "")),
        input_tokens=int(record.get("input_tokens") or 0),
        output_tokens=int(record.get("output_tokens") or 0),
        cached_input_tokens=int(record.get("cached_input_tokens") or 0),
        tokens_estimated=bool(record.get("tokens_estimated", False)),
        finish_reason=record.get("finish_reason"),
        model=record.get("model"),
    )


# ------------------------------------------------------------------------- misses


def readable_request(request: Mapping[str, Any]) -> list[str]:
    """A canonical request as lines a person reads (and `difflib` compares): the model and
    parameters, then each message's text line by line."""
    lines = [f"model: {request.get('provider')}/{request.get('model')}"]
    if request.get("params"):
        lines.append(f"params: {canonical_json(request['params'])}")
    if request.get("response"):
        lines.append(f"response: {canonical_json(request['response'])}")
    for message in request.get("messages", ()):
        lines.append(f"{message.get('role')}:")
        lines += [f"  {line}" for line in str(message.get("content", "")).split("\n")]
    return lines


def nearest_exchange(exchanges: Iterable[Mapping[str, Any]], step: str,
                     request: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The recorded exchange whose request is most like `request`: among the step's own
    exchanges when it has any, else among all."""
    candidates = list(exchanges)
    own = [e for e in candidates if e["step"] == step]
    candidates = own or candidates
    if not candidates:
        return None
    import difflib  # lazily: only a miss needs it

    wanted = readable_request(request)

    def likeness(exchange: Mapping[str, Any]) -> tuple[float, str]:
        lines = readable_request(exchange["request"])
        return difflib.SequenceMatcher(None, lines, wanted).ratio(), exchange["fingerprint"]

    return max(sorted(candidates, key=lambda e: (e["step"], e["fingerprint"])), key=likeness)


def request_diff(recorded: Mapping[str, Any], requested: Mapping[str, Any]) -> str:
    """A unified diff from the recorded request to the one made, line by line."""
    import difflib  # lazily: only a miss needs it

    diff = difflib.unified_diff(readable_request(recorded), readable_request(requested),
                                "recorded", "requested", n=1, lineterm="")
    return "\n".join(diff) or "(no difference in the text: the request's fingerprint differs)"


__all__ = ["MODES", "RECORD", "REPLAY", "Cassette", "CassetteMissError", "from_options"]
