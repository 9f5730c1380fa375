"""Where mmoc keeps its caches: `MMOC_CACHE_DIR`, else the platform's per-user cache folder
(`$XDG_CACHE_HOME/mmoc` or `~/.cache/mmoc` on Linux, `~/Library/Caches/mmoc` on macOS,
`%LOCALAPPDATA%\\mmoc\\Cache` on Windows). Private to the user (0o700): a cache holds pickled
parser tables and recorded replies, which nobody else may plant or read."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def user_cache_dir() -> Path:
    """The cache folder, as configured (not created: see `ensure_cache_dir`)."""
    configured = os.environ.get("MMOC_CACHE_DIR")
    if configured:
        return Path(configured)
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "mmoc" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "mmoc"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mmoc"


def ensure_cache_dir() -> Path | None:
    """The cache folder, created private to the user; None when it cannot be made or is not
    the user's own (a cache is an optimisation: without one, everything still works)."""
    folder = user_cache_dir()
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.stat()
    except OSError:
        return None
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return None
    return folder
