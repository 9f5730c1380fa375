"""Source positions. Lines and columns are 1-based; `end_column` is exclusive."""

from __future__ import annotations

from .records import Record


class Span(Record):
    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    @classmethod
    def point(cls, file: str, line: int, column: int, length: int = 1) -> Span:
        return cls(file=file, line=line, column=column, end_line=line, end_column=column + length)

    def shifted(self, line: int, column: int) -> Span:
        """This span, measured in a text that starts at (`line`, `column`) of its file (a
        YAML condition string, say): lines move down, columns on the first line move right."""
        return Span(
            file=self.file,
            line=self.line + line - 1,
            column=self.column + (column - 1 if self.line == 1 else 0),
            end_line=self.end_line + line - 1,
            end_column=self.end_column + (column - 1 if self.end_line == 1 else 0),
        )


def offset_to_line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of a character offset into `text`."""
    line = text.count("\n", 0, offset) + 1
    start = text.rfind("\n", 0, offset) + 1
    return line, offset - start + 1
