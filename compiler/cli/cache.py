"""`mmoc cache stats` and `mmoc cache clear`: the response cache (docs/cache.md).

The cache is the runtime's (`mmoc_runtime.response_cache`): `responses.sqlite3` under
`MMOC_CACHE_DIR` or the user's cache folder. `stats` never creates it. Exit codes: 0 done,
2 a bad `--older-than` or a cache that cannot be read or written.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import click

from .common import EXIT_USAGE, guard


@click.group("cache")
def cache() -> None:
    """Manage the response cache that steps with a `cache` policy use."""


def _open() -> Any:
    from mmoc_runtime.response_cache import ResponseCache, default_path

    return ResponseCache(default_path())


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_USAGE)


@cache.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
@guard("reading the response cache")
def stats(as_json: bool) -> None:
    """Entries, hits and the cost they saved, overall and per model."""
    import sqlite3

    from mmoc_runtime.response_cache import default_path

    path = default_path()
    if not path.exists():
        figures: dict[str, Any] = {"path": str(path), "bytes": 0, "entries": 0, "hits": 0,
                                   "saved_usd": 0.0, "oldest": None, "newest": None,
                                   "models": []}
    else:
        store = _open()
        try:
            figures = store.stats()
        except (sqlite3.Error, OSError) as exc:
            _fail(f"cannot read the response cache {path}: {exc}")
        finally:
            store.close()
    if as_json:
        click.echo(json.dumps(figures, sort_keys=True))
        return
    click.echo(_stats_text(figures))


def _stats_text(figures: dict[str, Any]) -> str:
    lines = [
        f"response cache: {figures['path']} ({figures['bytes']:,} bytes)",
        f"entries: {figures['entries']}",
        f"hits: {figures['hits']} (saved ${figures['saved_usd']:.6f})",
    ]
    if figures["oldest"] is not None:
        lines.append(f"stored: {_when(figures['oldest'])} to {_when(figures['newest'])}")
    for model in figures["models"]:
        lines.append(f"  {model['model']}: {model['entries']} entries, {model['hits']} hits, "
                     f"saved ${model['saved_usd']:.6f}")
    return "\n".join(lines)


def _when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))


@cache.command("clear")
@click.option("--older-than", metavar="DURATION",
              help="Remove only entries stored longer ago than this (30m, 12h, 3600s).")
@guard("clearing the response cache")
def clear(older_than: str | None) -> None:
    """Remove every entry (or the old ones) from the response cache."""
    import sqlite3

    from mmoc_runtime.response_cache import default_path

    from ..frontends.mmo.literals import parse_duration

    age: float | None = None
    if older_than is not None:
        age, problem = parse_duration(older_than.strip())
        if problem is not None or age is None or age < 0:
            _fail(f"--older-than {older_than!r} is not a duration (write 30m, 12h, 3600s)")
    path = default_path()
    if not path.exists():
        click.echo(f"removed 0 entries (no response cache at {path})")
        return
    store = _open()
    try:
        removed = store.clear(age)
    except (sqlite3.Error, OSError) as exc:
        _fail(f"cannot clear the response cache {path}: {exc}")
    finally:
        store.close()
    click.echo(f"removed {removed} entr{'y' if removed == 1 else 'ies'} from {path}")
