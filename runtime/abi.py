"""The runtime ABI: what a generated module checks at import before it builds its spec.

`ABI_VERSION` changes whenever the spec classes or the entry points change shape, so a module
generated for one ABI never runs half-working on another. The error names the distribution
that fixes it, `mmoc-runtime`, and the range of its versions that speaks the module's ABI.
"""

from __future__ import annotations

from ._version import __version__
from .errors import AbiMismatchError

ABI_VERSION = 3
# The oldest ABI this runtime still runs: ABI 2 added `PipelineSpec.defaults` and
# `CompiledPipeline`, ABI 3 `CompiledPipeline.stream` and `run_batch` (a module binds them),
# `CachePolicy`, `MapStep` and the spec's limits and budget; each left
# everything an older module uses as it was.
OLDEST_ABI = 1
RUNTIME_VERSION = __version__
DISTRIBUTION = "mmoc-runtime"

# The `mmoc-runtime` versions that speak each ABI (a pip specifier), for the install hint.
# Add a row, and widen the rows the new release still speaks, whenever ABI_VERSION changes.
_RUNTIME_FOR_ABI: dict[int, str] = {1: ">=0.1,<0.2", 2: ">=0.1,<0.2", 3: ">=0.1,<0.2"}


def runtime_range(abi: int) -> str:
    """The pip specifier of the `mmoc-runtime` releases that run a module of ABI `abi`."""
    known = _RUNTIME_FOR_ABI.get(abi)
    if known is not None:
        return known
    # An ABI newer than this runtime's knowledge: only a later release can speak it.
    return f">{RUNTIME_VERSION}" if abi > ABI_VERSION else f"<{RUNTIME_VERSION}"


def check_abi(required: int, source: str) -> None:
    """Raise `AbiMismatchError` unless this runtime speaks ABI `required`.

    `source` names the generated module (or its pipeline source) for the message.
    """
    if OLDEST_ABI <= required <= ABI_VERSION:
        return
    here = (f"the installed {DISTRIBUTION} {RUNTIME_VERSION} speaks ABI {OLDEST_ABI} to "
            f"{ABI_VERSION}")
    wanted = f'pip install "{DISTRIBUTION}{runtime_range(required)}"'
    if required > ABI_VERSION:
        hint = f"upgrade the runtime: {wanted}"
    else:
        hint = (f'regenerate it with a current compiler (pip install --upgrade "mmoc", then '
                f"`mmoc compile`), or install a runtime that still runs it: {wanted}")
    raise AbiMismatchError(f"{source} was generated for runtime ABI {required}, but {here}; {hint}")
