"""Names as Python reads them. A name from a source file becomes an identifier in the
generated module, and Python NFKC-normalises identifiers (`ｓ` is `s`, `ﬁnd` is `find`): the
checks compare names in that form and refuse names it would change, and codegen uses the same
test before any name reaches code."""

from __future__ import annotations

import keyword
import unicodedata


def python_name(name: str) -> str:
    """The name Python reads for `name` as an identifier: its NFKC form, so `ｓ` is `s`.

    Names that become identifiers in the generated module are compared in this form; two
    spellings with one form would be one name there."""
    return unicodedata.normalize("NFKC", name)


def read_as(name: str, first: str) -> str:
    """'' when the spellings are equal; else a note that Python reads both as one name."""
    if name == first:
        return ""
    return f" (Python reads `{name}` and `{first}` both as `{python_name(name)}`)"


def is_identifier(name: object) -> bool:
    """A Python identifier, not a keyword, that Python reads exactly as written: Python
    NFKC-normalises identifiers (`ｒｕｎ`, `ﬁnd` are `run`, `find`), so a name normalisation
    changes would silently be another name in generated code."""
    return (
        isinstance(name, str)
        and str.isidentifier(name)
        and not keyword.iskeyword(name)
        and unicodedata.normalize("NFKC", name) == name
    )


def why_not_identifier(name: str) -> str:
    if keyword.iskeyword(name):
        return f"`{name}` is a Python keyword"
    if name == "":
        return "the name is empty"
    normal = unicodedata.normalize("NFKC", name)
    if name.isidentifier() and normal != name:
        return f"Python reads `{name}` as `{normal}`"
    return f"`{name}` is not a Python identifier"
