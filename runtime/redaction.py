"""Keeping API keys out of what mmoc writes: one set of rules for the whole runtime.

Two kinds of text are hidden, both replaced by `REDACTED`:
- key-shaped text, whatever its value: header-like `Authorization: Bearer ...`, `x-api-key: ...`,
  `api_key=...`, a query string's `key=...`, a bare `Bearer ...`, and values shaped like OpenAI
  (`sk-...`) or Google (`AIza...`) keys. Providers echo request headers and URLs in their errors.
- the values of the keys a run can use (`secret_values`), and every piece of them: any run of
  `MIN_SECRET_LENGTH` or more characters that is a substring of a key, whatever its case, in
  the text as written or with its escapes decoded (JSON's `\\u002d` and `\\/`, Python's `\\x2d`,
  a URL's `%2D`; escaped twice too). A server that echoes a key cut short, masked
  (`sk-PROBE****jd8s`), upper-cased or escaped still shows a piece of it. A key shorter than
  `MIN_SECRET_LENGTH` is not hidden: a placeholder such as `OPENAI_API_KEY=test` would
  otherwise shred ordinary words ("latest test request"); real keys are far longer.

How: the lower-cased `MIN_SECRET_LENGTH`-character windows of every key form a set; each window
of the text (and of its decoded form, mapped back) found in the set marks its characters, and
each maximal run of marked characters becomes one `REDACTED`. One pass over the text per view.

`secret_values` reads the environment, so a run computes it once (see `LlmContext.secrets`)
rather than on every failed attempt. `redact` is for messages (both kinds); `scrub` is for
captured prompts and outputs, and `shown_json` for outputs mmoc prints (key values only: a
prompt that says `key=...` is the user's text, not a leak of ours). A message is redacted whole,
then cut (`cut_redacted`). Values handed back to Python are never changed (docs/runtime.md,
"Keys in what mmoc writes").
"""

from __future__ import annotations

import json
import os
import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from functools import cache, lru_cache
from typing import Any

from .errors import REDACTED
from .providers.credentials import KEY_ENV
from .spec import EndpointSpec

MIN_SECRET_LENGTH = 8

# An environment variable whose name contains one of these holds a secret, whatever provider
# (or tool) it belongs to: its value is hidden from error messages.
SECRET_NAME_MARKERS: tuple[str, ...] = ("API_KEY", "TOKEN", "SECRET")

_CONTROL_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}

Span = tuple[int, int]  # [start, end) in a text


@cache
def _patterns() -> tuple[re.Pattern[str], ...]:
    """Each pattern's group 1 is kept (the header name, `key=`, `Bearer `), the rest hidden.
    Compiled on first use: errors are rare and `import mmoc_runtime` should stay cheap."""
    return (
        # Header-shaped: `Authorization: Bearer sk-...`, `'x-api-key': '...'`, `api_key=...`
        re.compile(
            r"(?i)((?:authorization|x-api-key|x-goog-api-key|api[-_]?key)[\"']?\s*[:=]\s*[\"']?)"
            r"(?:bearer\s+)?[^\s\"',;&}]+"
        ),
        # Query strings: `?key=AIza...`
        re.compile(r"(?i)(\bkey=)[^\s\"'&,;]+"),
        # A bare bearer token anywhere.
        re.compile(r"(?i)(\bbearer\s+)[^\s\"',;]+"),
        # A key by its shape alone: OpenAI/Anthropic `sk-...`, Google `AIza...`.
        re.compile(r"()\b(?:sk-[A-Za-z0-9_\-]{8,}|AIza[0-9A-Za-z_\-]{20,})"),
    )


@cache
def _escape() -> re.Pattern[str]:
    """One escaped character: `\\uXXXX`, `\\xXX`, `\\/`, `\\"`, `\\'`, `\\n`... and `%XX`. A run
    of backslashes counts as one, so text escaped twice (a JSON body quoted in a JSON string,
    or in a repr) decodes as well."""
    return re.compile(
        r"\\+(?:u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2})|([\"'/bfnrt]))|%([0-9a-fA-F]{2})"
    )


def _keep_prefix(match: re.Match[str]) -> str:
    return match.group(1) + REDACTED


def secret_values(
    endpoints: Iterable[EndpointSpec] = (), environ: Mapping[str, str] | None = None
) -> tuple[str, ...]:
    """The values (`MIN_SECRET_LENGTH`+ characters) of every key variable a run can use: the
    providers' (`OPENAI_API_KEY`, ...), each endpoint's `api_key_env`, and any variable whose
    name contains `API_KEY`, `TOKEN` or `SECRET`. Longest first."""
    env = os.environ if environ is None else environ
    names = {name for names in KEY_ENV.values() for name in names}
    names.update(e.api_key_env for e in endpoints if e.api_key_env)
    found: set[str] = set()
    for name, value in env.items():
        if name in names or any(marker in name.upper() for marker in SECRET_NAME_MARKERS):
            value = value.strip()  # keys are sent stripped, so they are echoed stripped
            if len(value) >= MIN_SECRET_LENGTH:
                found.add(value)
    return tuple(sorted(found, key=len, reverse=True))


# --------------------------------------------------------------------------- matching


def _fold(text: str) -> str:
    """`text` lower-cased one character for one, so positions in it are positions in `text`."""
    folded = text.lower()
    if len(folded) == len(text):  # no character grew (the usual case): same positions
        return folded
    return "".join(c.lower()[0] for c in text)  # `İ` lowers to two characters: keep the first


@lru_cache(maxsize=16)
def _windows(secrets: tuple[str, ...]) -> frozenset[str]:
    """Every lower-cased `MIN_SECRET_LENGTH`-character piece of every secret (none of a
    shorter one). A run's secrets are the same on every call: built once."""
    size = MIN_SECRET_LENGTH
    return frozenset(
        folded[i : i + size]
        for folded in map(_fold, secrets)
        for i in range(len(folded) - size + 1)
    )


def _window_spans(view: str, windows: frozenset[str]) -> list[Span]:
    """The spans of `view` whose text (any case) is one of `windows`."""
    folded = _fold(view)
    size = MIN_SECRET_LENGTH
    return [
        (i, i + size) for i in range(len(folded) - size + 1) if folded[i : i + size] in windows
    ]


class _Decoded:
    """`text` with its escapes decoded (each to one character), and the way back: the decoded
    position and original span of every escape, in order."""

    __slots__ = ("at", "ends", "starts", "text")

    def __init__(self, text: str, matches: list[re.Match[str]]) -> None:
        pieces: list[str] = []
        self.at: list[int] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        last = length = 0
        for match in matches:
            pieces.append(text[last : match.start()])
            length += match.start() - last
            self.at.append(length)
            self.starts.append(match.start())
            self.ends.append(match.end())
            pieces.append(_unescaped(match))
            length += 1
            last = match.end()
        pieces.append(text[last:])
        self.text = "".join(pieces)

    def original(self, position: int) -> Span:
        """The span of the original text that decoded to the character at `position`."""
        k = bisect_right(self.at, position) - 1
        if k < 0:
            return position, position + 1
        if self.at[k] == position:
            return self.starts[k], self.ends[k]
        start = self.ends[k] + position - self.at[k] - 1
        return start, start + 1

    def spans_back(self, spans: list[Span]) -> list[Span]:
        return [(self.original(a)[0], self.original(b - 1)[1]) for a, b in spans]


def _unescaped(match: re.Match[str]) -> str:
    hex_digits = match.group(1) or match.group(2) or match.group(4)
    if hex_digits:
        return chr(int(hex_digits, 16))
    char = match.group(3)
    return _CONTROL_ESCAPES.get(char, char)


def _merged(spans: list[Span]) -> list[Span]:
    """Overlapping or touching spans joined: each maximal covered run once."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _hide_values(text: str, windows: frozenset[str]) -> str:
    """`text` with each maximal run of key pieces (as written, or once decoded) replaced."""
    if not windows or len(text) < MIN_SECRET_LENGTH:
        return text
    spans = _window_spans(text, windows)
    escapes = list(_escape().finditer(text))
    if escapes:
        decoded = _Decoded(text, escapes)
        spans += decoded.spans_back(_window_spans(decoded.text, windows))
    if not spans:
        return text
    pieces: list[str] = []
    last = 0
    for start, end in _merged(spans):
        pieces += (text[last:start], REDACTED)
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


# --------------------------------------------------------------------------- the rules


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with every piece of a secret value (see the module) and every key-shaped value
    replaced by `REDACTED`: for error messages, before they reach an error, log or trace.
    Redact before cutting a text short: the cut then never falls inside a key."""
    values = tuple(s for s in secrets if s)
    if values:
        text = _hide_values(text, _windows(values))
    for pattern in _patterns():
        text = pattern.sub(_keep_prefix, text)
    return text


def cut_redacted(text: str, limit: int) -> str:
    """A redacted `text` cut to `limit` characters, or a little more where the cut would split
    a `REDACTED` marker (kept whole: `[REDACTE` reads like a mistake). Redact, then cut."""
    if len(text) <= limit:
        return text
    marker = text.find(REDACTED, max(0, limit - len(REDACTED) + 1))
    if marker != -1 and marker < limit:
        limit = marker + len(REDACTED)
    return text[:limit]


def scrub(value: Any, secrets: Iterable[str]) -> Any:
    """`value` with every piece of a secret value replaced by `REDACTED` (the same rule as
    `redact`, without the key shapes), inside lists and dicts too (a copy: the run's own
    values are not changed). For captured prompts and outputs, and for outputs mmoc prints."""
    windows = _windows(tuple(secrets))
    if not windows:
        return value
    return _scrubbed(value, windows)


def _scrubbed(value: Any, windows: frozenset[str]) -> Any:
    if isinstance(value, str):
        return _hide_values(value, windows)
    if isinstance(value, dict):
        return {_scrubbed(k, windows): _scrubbed(v, windows) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrubbed(v, windows) for v in value]
    return value


def shown_json(value: Any, secrets: Iterable[str], *, indent: int | None = None) -> str:
    """`value` as JSON text for mmoc to print, every piece of a secret hidden as `scrub` hides
    it. Strings are scrubbed before they are quoted, so the JSON stays valid; a value JSON
    cannot hold is shown by its `str`, scrubbed too."""
    hidden = tuple(secrets)
    return json.dumps(
        scrub(value, hidden),
        indent=indent,
        ensure_ascii=False,
        default=lambda other: scrub(str(other), hidden),
    )
