"""Module-level Python names for a generated module, allocated once, never colliding.

Every name the templates print is handed out here. Keys the user chose become parameters of
the built-in transform wrappers, so helpers those wrappers refer to (the `transforms` module,
`Any`) must avoid them: a parameter would shadow the helper inside the function. Builtins are
never rebound, so `str`, `len`, ... keep their meaning everywhere in the module.
"""

from __future__ import annotations

import builtins
import keyword

from ..identifiers import is_identifier
from .expressions import LoweringError

_BUILTIN_NAMES = frozenset(dir(builtins))


def check_identifier(name: str, what: str) -> str:
    """Defence in depth: the checks already reject these, lowering refuses them again."""
    if not is_identifier(name):
        raise LoweringError(f"{what} {name!r} is not a Python identifier as written")
    return name


class NameAllocator:
    def __init__(self, avoid: set[str]) -> None:
        # Module globals handed out so far (plus builtins and keywords, never rebound).
        self._taken: set[str] = set(_BUILTIN_NAMES) | set(keyword.kwlist) | set(keyword.softkwlist)
        # Local names (wrapper parameters) a helper must not share a spelling with.
        self._avoid = set(avoid)

    def take(self, preferred: str, fallback: str) -> str:
        """`preferred` if free and an identifier, else `fallback`, suffixed until unique.

        Every name handed out reads as itself (`is_identifier` refuses what NFKC would
        change), so distinct spellings here are distinct names in the module."""
        base = preferred if is_identifier(preferred) else fallback
        name, n = base, 2
        while name in self._taken or name in self._avoid:
            name = f"{base}_{n}"
            n += 1
        self._taken.add(name)
        return name

    def take_exact(self, name: str) -> str:
        """A name the generated module's API promises (`run`, `PIPELINE`): it must be free."""
        if name in self._taken:
            raise LoweringError(f"generated name {name!r} is already taken")
        self._taken.add(name)
        return name


def upper_name(name: str) -> str:
    """`research` -> `RESEARCH` (constants); '' when upper-casing breaks the identifier."""
    upper = name.upper()
    return upper if is_identifier(upper) else ""
