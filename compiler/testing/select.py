"""`-k PATTERN`: pytest's keyword expressions over a test's id (`path::name`).

A word matches when it occurs in the id, ignoring case; words combine with `and`, `or`, `not`
and parentheses (`-k "polite and not slow"`). A pattern that does not parse is a usage error.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"\s*(\(|\)|[^\s()]+)")


class PatternError(ValueError):
    """`-k` text that is not a keyword expression."""


def check_pattern(pattern: str) -> None:
    """Raise `PatternError` when `pattern` does not parse."""
    matches(pattern, "")


def matches(pattern: str, test_id: str) -> bool:
    tokens = _TOKEN.findall(pattern)
    if not tokens:
        return True
    parser = _Parser(tokens, test_id.lower())
    value = parser.expr()
    if parser.pos != len(tokens):
        raise PatternError(f"unexpected `{tokens[parser.pos]}` in -k {pattern!r}")
    return value


class _Parser:
    def __init__(self, tokens: list[str], haystack: str) -> None:
        self.tokens = tokens
        self.pos = 0
        self.haystack = haystack

    def _peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self) -> str:
        token = self._peek()
        if token is None:
            raise PatternError("the -k expression ends too early")
        self.pos += 1
        return token

    def expr(self) -> bool:
        value = self._and()
        while self._peek() == "or":
            self.pos += 1
            right = self._and()
            value = value or right
        return value

    def _and(self) -> bool:
        value = self._not()
        while self._peek() == "and":
            self.pos += 1
            right = self._not()
            value = value and right
        return value

    def _not(self) -> bool:
        if self._peek() == "not":
            self.pos += 1
            return not self._not()
        token = self._take()
        if token == "(":
            value = self.expr()
            if self._take() != ")":
                raise PatternError("a `(` in the -k expression is not closed")
            return value
        if token in (")", "and", "or"):
            raise PatternError(f"unexpected `{token}` in the -k expression")
        return token.lower() in self.haystack
