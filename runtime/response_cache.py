"""The response cache: replies kept on disk, served again to the same request at no cost.

A step caches when its `cache` policy (or the pipeline's default) says so (`spec.CachePolicy`,
`.mmo` `cache ttl: 1h`, YAML `cache: {ttl: 1h}`). The cache is one SQLite database (the
standard library's `sqlite3`), `responses.sqlite3` in the user's cache folder (`cache_dir`:
`MMOC_CACHE_DIR`, else the platform's), keyed by the request's fingerprint (`fingerprint`), the
same key cassettes use. Only a reply that made its attempt succeed is stored (`replies`): a
failure is never cached. A hit costs nothing; the trace marks it (`reply_source: "cache"`) and
shows what it saved (`cost_saved_usd`).

Several processes share the database safely: it is in WAL mode (readers never wait for the
writer) and every connection waits up to `BUSY_TIMEOUT_MS` for a lock instead of failing. A
cache is an optimisation: when the folder cannot be made or the database fails, the run goes
on without it. What is stored passes through the runtime's redaction first (no key reaches the
disk, `redaction.scrub`).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .cache_dir import ensure_cache_dir, user_cache_dir
from .cassette import response_from, response_record
from .fingerprint import canonical_json
from .pricing import cost as price_cost
from .providers.base import LlmResponse
from .redaction import scrub
from .replies import SAVED, Reply, ReplyCall

FILE_NAME = "responses.sqlite3"
BUSY_TIMEOUT_MS = 30_000  # how long a process waits for another's write lock
SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    fingerprint TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    request TEXT NOT NULL,
    response TEXT NOT NULL,
    cost_usd REAL NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    hits INTEGER NOT NULL DEFAULT 0,
    saved_usd REAL NOT NULL DEFAULT 0
)
"""


def default_path() -> Path:
    """Where the cache lives (the folder is not created)."""
    return user_cache_dir() / FILE_NAME


class ResponseCache:
    """The database at `path` (default: `default_path()`), opened on first use. `clock` gives
    the time in epoch seconds (for the time to live)."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path) if path is not None else None
        self.clock = clock
        self._db: sqlite3.Connection | None = None

    def __repr__(self) -> str:
        return f"ResponseCache({str(self.path or default_path())!r})"

    def connect(self) -> sqlite3.Connection:
        """The open database (created if need be). Raises `sqlite3.Error` or `OSError`."""
        if self._db is not None:
            return self._db
        if self.path is None:
            folder = ensure_cache_dir()
            if folder is None:
                raise OSError(f"the cache folder {user_cache_dir()} cannot be used")
            self.path = folder / FILE_NAME
        else:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000.0,
                             isolation_level=None, check_same_thread=False)
        try:
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute(SCHEMA)
        except BaseException:
            db.close()
            raise
        self._db = db
        return db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    # -- entries ------------------------------------------------------------------------

    def get(self, digest: str, ttl: float | None) -> LlmResponse | None:
        """The response stored for `digest` less than `ttl` seconds ago (None: any age)."""
        row = self.connect().execute(
            "SELECT response, created FROM responses WHERE fingerprint = ?", (digest,)
        ).fetchone()
        if row is None or (ttl is not None and self.clock() - row[1] > ttl):
            return None
        return response_from(json.loads(row[0]))

    def note_hit(self, digest: str) -> None:
        """Count a hit, and the cost it saved (what the reply cost when stored)."""
        self.connect().execute(
            "UPDATE responses SET hits = hits + 1, saved_usd = saved_usd + cost_usd "
            "WHERE fingerprint = ?", (digest,))

    def put(self, digest: str, request: dict[str, Any], response: LlmResponse,
            cost_usd: float = 0.0) -> None:
        """Store (or replace) the response to the request with fingerprint `digest`."""
        self.connect().execute(
            "INSERT OR REPLACE INTO responses (fingerprint, provider, model, request, response,"
            " cost_usd, created, hits, saved_usd) VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0)",
            (digest, str(request.get("provider", "")), str(request.get("model", "")),
             canonical_json(request), canonical_json(response_record(response)), cost_usd,
             self.clock()))

    # -- managing -----------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Entries, hits and saved cost, overall and per model; the file and its size."""
        db = self.connect()
        entries, hits, saved, oldest, newest = db.execute(
            "SELECT COUNT(*), COALESCE(SUM(hits), 0), COALESCE(SUM(saved_usd), 0), "
            "MIN(created), MAX(created) FROM responses").fetchone()
        models = [
            {"model": f"{provider}/{model}", "entries": count, "hits": model_hits,
             "saved_usd": model_saved}
            for provider, model, count, model_hits, model_saved in db.execute(
                "SELECT provider, model, COUNT(*), SUM(hits), SUM(saved_usd) FROM responses "
                "GROUP BY provider, model ORDER BY provider, model")
        ]
        return {
            "path": str(self.path),
            "bytes": _size(self.path),
            "entries": entries,
            "hits": hits,
            "saved_usd": saved,
            "oldest": oldest,
            "newest": newest,
            "models": models,
        }

    def clear(self, older_than: float | None = None) -> int:
        """Remove every entry (or those stored more than `older_than` seconds ago); how many."""
        db = self.connect()
        if older_than is None:
            removed = db.execute("DELETE FROM responses").rowcount
        else:
            removed = db.execute("DELETE FROM responses WHERE created < ?",
                                 (self.clock() - older_than,)).rowcount
        db.execute("VACUUM")
        return int(removed)


def _cost(requested: str, response: LlmResponse) -> float:
    """What the reply cost, priced as the trace prices it (the model as requested)."""
    return price_cost(requested, response.input_tokens, response.output_tokens,
                      response.cached_input_tokens)[0]


def _size(path: Path | None) -> int:
    total = 0
    for suffix in ("", "-wal"):
        try:
            total += os.stat(f"{path}{suffix}").st_size
        except OSError:
            pass
    return total


class CacheSource:
    """The cache as a reply source (`replies`), for the steps whose policy caches. A database
    that fails is dropped for the rest of the run (the run goes on without a cache)."""

    def __init__(self, cache: ResponseCache,
                 secrets: Callable[[], Iterable[str]] = tuple) -> None:
        self.cache: ResponseCache | None = cache
        self._secrets = secrets

    def lookup(self, call: ReplyCall) -> Reply | None:
        policy = call.step.cache
        if self.cache is None or policy is None or not policy.enabled:
            return None
        digest = call.fingerprint.digest
        try:
            response = self.cache.get(digest, policy.ttl)
            if response is not None:
                self.cache.note_hit(digest)
        except (sqlite3.Error, OSError, ValueError):
            self._drop()
            return None
        return None if response is None else Reply(response, "cache", SAVED)

    def store(self, call: ReplyCall, response: LlmResponse) -> None:
        policy = call.step.cache
        if self.cache is None or policy is None or not policy.enabled:
            return
        secrets = tuple(self._secrets())
        request = scrub(dict(call.fingerprint.request), secrets)
        kept = response_from(scrub(response_record(response), secrets))
        try:
            self.cache.put(call.fingerprint.digest, request, kept, _cost(call.requested, response))
        except (sqlite3.Error, OSError):
            self._drop()

    def close(self) -> None:
        if self.cache is not None:
            self.cache.close()

    def _drop(self) -> None:
        if self.cache is not None:
            self.cache.close()
        self.cache = None
