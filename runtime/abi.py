"""The runtime ABI: what a generated module checks at import before it builds its spec.

`ABI_VERSION` changes whenever the spec classes or the entry points change shape, so a module
generated for one ABI never runs half-working on another. The error says which install fixes it.
"""

from __future__ import annotations

from .errors import AbiMismatchError

ABI_VERSION = 1
RUNTIME_VERSION = "0.1.0"

# The runtime release series that first speaks each ABI (for the `pip install` hint).
_RUNTIME_FOR_ABI: dict[int, str] = {1: "0.1"}


def check_abi(required: int, source: str) -> None:
    """Raise `AbiMismatchError` unless this runtime speaks ABI `required`.

    `source` names the generated module (or its pipeline source) for the message.
    """
    if required == ABI_VERSION:
        return
    here = f"the installed mmoc_runtime {RUNTIME_VERSION} speaks ABI {ABI_VERSION}"
    if required > ABI_VERSION:
        series = _RUNTIME_FOR_ABI.get(required)
        fix = (
            f'pip install "mmoc-runtime=={series}.*"'
            if series
            else 'pip install --upgrade "mmoc-runtime"'
        )
        hint = f"upgrade the runtime: {fix}"
    else:
        hint = (
            f'regenerate it with a current compiler: pip install --upgrade "mmoc" and run '
            f'`mmoc compile` again (or pin the runtime it was made for: pip install '
            f'"mmoc-runtime=={_RUNTIME_FOR_ABI.get(required, "0.1")}.*")'
        )
    raise AbiMismatchError(f"{source} was generated for runtime ABI {required}, but {here}; {hint}")
