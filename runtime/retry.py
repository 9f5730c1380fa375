"""Retry policy (seed names `RetryStrategy`, `BackoffStrategy`). Placeholder: owned by issue 2."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class BackoffStrategy(str, Enum):
    CONSTANT = "constant"
    EXPONENTIAL = "exponential"


@dataclass(frozen=True)
class RetryStrategy:
    max_retries: int = 3
    backoff: BackoffStrategy = BackoffStrategy.EXPONENTIAL
    base_delay_seconds: float = 1.0
    max_delay_seconds: float = 60.0
    retry_on: tuple[Any, ...] = ()  # error kinds (str) or exception classes; empty: defaults
    multiplier: float = 2.0
    jitter: str = "none"  # "none" or "full"
