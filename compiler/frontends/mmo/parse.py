"""The `.mmo` front end: text to IR, with every user mistake as a diagnostic.

The grammar is `grammar/mmo.lark`; `frontend_mmo_tree.MmoBuilder` turns the tree into IR.
This module builds the Lark parser once, turns Lark's errors into friendly `MMO002`
diagnostics ("expected ..." with a "did you mean" for a misspelt field), and hands each
comment to the statement it belongs to.
"""

from __future__ import annotations

import dataclasses
import threading
from bisect import bisect_right
from collections.abc import Iterator
from difflib import get_close_matches
from functools import lru_cache
from importlib.resources import files
from typing import Any

import lark
from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.lexer import PatternStr
from mmoc_runtime.cache_dir import ensure_cache_dir

from ... import ir
from ...diagnostics.model import Diagnostic, sort_key
from ...gc_pause import gc_paused
from ...limits import MAX_NESTING, source_too_large
from ...source import Span, offset_to_line_col
from .transformer import LLM_FIELDS, MmoBuilder

__all__ = ["parse_condition", "parse_expectation", "parse_mmo"]

# Rules that nest (a list, an object, an operator of a condition): MAX_NESTING bounds them.
NESTING_RULES = frozenset({"array", "object", "not_op", "and_test", "or_test", "compare", "call"})

# Rules that are statements: a comment before one (or at the end of its last line) is its.
STATEMENTS = frozenset(
    {
        "pipeline",
        "version",
        "description",
        "metadata",
        "limit_stmt",
        "budget_stmt",
        "input_decl",
        "output_decl",
        "model_alias",
        "endpoint",
        "retry_def",
        "breaker_def",
        "default_stmt",
        "step",
        "group",
        "map_collect",  # a map step's `collect KEY`
        "test_block",
        "test_input",
        "test_reply",
        "expect_stmt",
    }
) | {f"{name}_field" for name in LLM_FIELDS}

TERMINAL_WORDS = {
    "NAME": "a name",
    "STRING": "a string",
    "TRIPLE_STRING": 'a """string"""',
    "MODEL_ID": "a model id",
    "FUNC_REF": "a function (`package.module:function` or a built-in)",
    "DURATION": "a duration (500ms, 2s, 1m)",
    "NUMBER": "a number",
    "COMP_OP": "a comparison (==, !=, <, <=, >, >=, contains)",
    "$END": "the end of the file",
}

_lock = threading.Lock()
_sink: list[Token] = []


@lru_cache(maxsize=1)
def _parser() -> Lark:
    grammar = files("mmoc.grammar").joinpath("mmo.lark").read_text(encoding="utf-8")
    # Building the LALR tables takes about 0.1 s, most of a `mmoc check`: Lark caches them in
    # the user's private cache folder, keyed by the grammar's and the options' hash (a changed
    # grammar or Lark version rebuilds; an unreadable file is rebuilt, never an error).
    folder = ensure_cache_dir()
    return Lark(
        grammar,
        cache=str(folder / f"mmo-grammar-lark{lark.__version__}.pickle") if folder else False,
        parser="lalr",
        lexer="contextual",
        start=["start", "condition", "expectation"],
        propagate_positions=True,
        maybe_placeholders=True,
        lexer_callbacks={"COMMENT": _sink.append},
    )


def _describe(name: str) -> str:
    if name in TERMINAL_WORDS:
        return TERMINAL_WORDS[name]
    try:
        pattern = _parser().get_terminal(name).pattern
    except KeyError:
        return name
    return f"`{pattern.value}`" if isinstance(pattern, PatternStr) else name.lower()


def _keywords(expected: set[str]) -> list[str]:
    words = []
    for name in expected:
        try:
            pattern = _parser().get_terminal(name).pattern
        except KeyError:
            continue
        if isinstance(pattern, PatternStr) and pattern.value.isidentifier():
            words.append(pattern.value)
    return sorted(words)


def _expected_text(expected: set[str]) -> str:
    words = sorted({_describe(n) for n in expected})
    # Every pipeline-level statement and the closing `}` fit (what the end of a file expects).
    if len(words) > 18:
        words = words[:18] + ["..."]
    return words[0] if len(words) == 1 else "one of " + ", ".join(words)


def _accepted(err: UnexpectedInput, fallback: set[str]) -> set[str]:
    """The terminals the parser would take here, exactly (LALR merges lookaheads)."""
    parser = getattr(err, "interactive_parser", None)
    if parser is None:
        return fallback
    try:
        return set(parser.accepts()) or fallback
    except Exception:  # noqa: BLE001 - a better message is nice to have, not essential
        return fallback


def _syntax_diagnostic(err: UnexpectedInput, text: str, file: str) -> Diagnostic:
    """One friendly diagnostic for Lark's error: what was found, what would fit there."""
    line, col = max(err.line, 1) if err.line else 1, max(err.column, 1) if err.column else 1
    if isinstance(err, UnexpectedToken):
        tok = err.token
        expected = _accepted(err, set(err.expected))
        if tok.type == "$END":
            line, col = _end_of(text)
            return Diagnostic(
                "MMO002",
                f"the file ends too early; expected {_expected_text(expected)}",
                Span.point(file, line, col),
                label="ends here",
            )
        shown = str(tok)
        span = Span(
            file=file,
            line=line,
            column=col,
            end_line=tok.end_line or line,
            end_column=tok.end_column or col + 1,
        )
        keywords = _keywords(expected)
        if shown == "parallel" and "step" in keywords:
            return Diagnostic(
                "MMO002",
                "a parallel group cannot hold another group",
                span,
                label="nested group",
                help="move this group out to the top level",
            )
        close = get_close_matches(shown, keywords, n=1, cutoff=0.6) if shown.isidentifier() else []
        return Diagnostic(
            "MMO002",
            f"unexpected `{shown}`; expected {_expected_text(expected)}",
            span,
            label="not expected here",
            help=f"did you mean `{close[0]}`?" if close else None,
        )
    if isinstance(err, UnexpectedCharacters):
        char = err.char
        span = Span.point(file, line, col)
        pos = err.pos_in_stream or 0
        if char == '"' and text[max(pos - 2, 0) : pos + 1] == '"""':
            # The lexer took the first two quotes as an empty string; the third is left over.
            return Diagnostic(
                "MMO009",
                'this """ string is never closed',
                Span.point(file, line, max(col - 2, 1), 3),
                label="string starts here",
                help='end it with """',
            )
        if char == '"':
            return Diagnostic(
                "MMO009",
                "this string is not terminated on its line",
                span,
                label="string starts here",
                help='close it with `"`, or use """...""" for several lines',
            )
        allowed = _accepted(err, set(err.allowed or ()))
        word = _word_at(text, err.pos_in_stream)
        keywords = _keywords(allowed)
        if word and keywords:
            span = Span.point(file, line, col, len(word))
            close = get_close_matches(word, keywords, n=1, cutoff=0.6)
            return Diagnostic(
                "MMO002",
                f"unexpected `{word}`; expected {_expected_text(allowed)}",
                span,
                label="not expected here",
                help=f"did you mean `{close[0]}`?" if close else None,
            )
        what = f"`{char}`" if char.isprintable() and not char.isspace() else repr(char)
        tail = f"; expected {_expected_text(allowed)}" if allowed else ""
        return Diagnostic(
            "MMO002", f"unexpected character {what}{tail}", span, label="not expected here"
        )
    return Diagnostic("MMO002", "the source does not parse", Span.point(file, line, col))


def _word_at(text: str, pos: int | None) -> str:
    if pos is None:
        return ""
    end = pos
    while end < len(text) and (text[end].isalnum() or text[end] == "_"):
        end += 1
    return text[pos:end] if text[pos:end].isidentifier() else ""


def _end_of(text: str) -> tuple[int, int]:
    return offset_to_line_col(text, len(text))


def _assign_comments(
    tree: Tree[Token], comments: list[Token]
) -> tuple[dict[tuple[int, int], tuple[str, ...]], tuple[str, ...]]:
    """Map each comment to a statement's start position; the rest trail the file.

    A comment at the end of a line where a statement ends is that statement's (the innermost
    one ending there); any other comment belongs to the next statement that starts after it.
    """
    if not comments:
        return {}, ()
    starts: list[tuple[int, int]] = []
    ends: dict[int, tuple[int, int]] = {}
    for sub in tree.iter_subtrees():
        if str(sub.data) not in STATEMENTS or sub.meta.empty:
            continue
        start = (sub.meta.line, sub.meta.column)
        starts.append(start)
        if sub.meta.end_line not in ends or ends[sub.meta.end_line] < start:
            ends[sub.meta.end_line] = start
    starts.sort()
    owned: dict[tuple[int, int], list[str]] = {}
    trailing: list[str] = []
    for tok in comments:
        body = str(tok)[1:].rstrip()
        body = body.removeprefix(" ")
        here = (tok.line or 1, tok.column or 1)
        owner = ends.get(here[0])
        if owner is None or owner >= here:
            i = bisect_right(starts, here)
            owner = starts[i] if i < len(starts) else None
        if owner is None:
            trailing.append(body)
        else:
            owned.setdefault(owner, []).append(body)
    return {k: tuple(v) for k, v in owned.items()}, tuple(trailing)


def _parse(text: str, start: str) -> tuple[Tree[Token] | None, list[Token], UnexpectedInput | None]:
    with _lock:
        _sink.clear()
        try:
            tree = _parser().parse(text, start=start)
        except UnexpectedInput as err:
            return None, [], err
        finally:
            comments = list(_sink)
            _sink.clear()
    return tree, comments, None


def _nesting_diagnostic(node: Tree[Token], file: str) -> Diagnostic:
    meta = node.meta
    return Diagnostic(
        "MMO011",
        f"lists, objects and conditions nest more than {MAX_NESTING} levels deep here",
        Span.point(file, meta.line, meta.column),
        label=f"level {MAX_NESTING + 1}",
        help="no pipeline needs this much nesting: flatten the value or the condition",
    )


class _TooDeep(Exception):
    """The walk met a construct nested more than MAX_NESTING levels deep."""

    def __init__(self, node: Tree[Token]) -> None:
        super().__init__(node.data)
        self.node = node


def _transform(builder: MmoBuilder, tree: Tree[Token]) -> tuple[Any, list[Diagnostic]]:
    """The tree bottom-up through `builder`: each rule's method gets (meta, children) once its
    children are built.

    A loop over a stack of frames, not recursion, with one direct call per node (Lark's
    `Transformer` wraps every `v_args` method anew on each call: a third of a large file's
    parse went there). Raises `_TooDeep` at the first construct, in source order, nested
    more than MAX_NESTING levels deep (nodes are entered in source order), before any
    method runs on it: no pipeline needs that much, and the printer and checks recurse."""
    methods: dict[str, Any] = {}
    depth = 1 if tree.data in NESTING_RULES else 0
    frames: list[tuple[Tree[Token], Iterator[Any], list[Any], int]] = [
        (tree, iter(tree.children), [], depth)
    ]
    while True:
        node, pending, built, depth = frames[-1]
        for child in pending:
            if isinstance(child, Tree):
                inner = depth + 1 if child.data in NESTING_RULES else depth
                if inner > MAX_NESTING:
                    raise _TooDeep(child)
                frames.append((child, iter(child.children), [], inner))
                break
            built.append(child)  # a token (or None for an absent optional) stays as it is
        else:
            frames.pop()
            rule = str(node.data)
            method = methods.get(rule)
            if method is None:
                method = methods[rule] = getattr(builder, rule)
            value = method(node.meta, built)
            if not frames:
                return value, builder.diagnostics
            frames[-1][2].append(value)


def _guarded(fn: Any) -> tuple[Any, list[Diagnostic]]:
    """Run a parse with the collector paused; diagnostics in order.

    A crash propagates: it is our bug, reported once by `loader.load_text`."""
    with gc_paused():
        result, diags = fn()
    return result, sorted(diags, key=sort_key)


def _normalise(text: str) -> str:
    # A leading BOM was dropped by `loader.load_text`, the one way in for files.
    return text.replace("\r\n", "\n")


def parse_mmo(text: str, file: str) -> tuple[ir.Pipeline | None, list[Diagnostic]]:
    """Parse a whole `.mmo` file. The pipeline is None only when the text does not parse."""

    def run() -> tuple[ir.Pipeline | None, list[Diagnostic]]:
        source = _normalise(text)
        tree, comments, err = _parse(source, "start")
        if err is not None or tree is None:
            assert err is not None
            return None, [_syntax_diagnostic(err, source, file)]
        owned, trailing = _assign_comments(tree, comments)
        try:
            pipeline, diags = _transform(MmoBuilder(file, owned), tree)
        except _TooDeep as deep:
            return None, [_nesting_diagnostic(deep.node, file)]
        if trailing:
            pipeline = pipeline.model_copy(update={"trailing_comments": trailing})
        return pipeline, diags

    too_large = source_too_large(text, file)
    if too_large is not None:
        return None, [too_large]
    return _guarded(run)


def parse_condition(
    text: str, file: str, line: int = 1, column: int = 1
) -> tuple[ir.Expr | None, list[Diagnostic]]:
    """Parse a condition alone (as in YAML `condition:`); spans start at (line, column)."""
    return _parse_fragment(text, file, line, column, "condition")


def parse_expectation(
    text: str, file: str, line: int = 1, column: int = 1
) -> tuple[ir.Expectation | None, list[Diagnostic]]:
    """Parse a test's expectation alone (as in YAML `expect:`); spans start at (line, column)."""
    return _parse_fragment(text, file, line, column, "expectation")


def _parse_fragment(
    text: str, file: str, line: int, column: int, start: str
) -> tuple[Any, list[Diagnostic]]:
    """A piece of .mmo under the grammar's start rule `start`; spans start at (line, column)."""

    def run() -> tuple[Any, list[Diagnostic]]:
        source = _normalise(text)
        tree, _comments, err = _parse(source, start)
        if err is not None or tree is None:
            assert err is not None
            diag = _syntax_diagnostic(err, source, file)
        else:
            try:
                return _transform(MmoBuilder(file, line=line, column=column), tree)
            except _TooDeep as deep:
                diag = _nesting_diagnostic(deep.node, file)
        if diag.span is not None:
            diag = dataclasses.replace(diag, span=diag.span.shifted(line, column))
        return None, [diag]

    return _guarded(run)
