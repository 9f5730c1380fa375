"""The runtime ABI: what a generated module checks at import before it builds its spec.

`ABI_VERSION` changes whenever the spec classes or the entry points change shape, so a module
generated for one ABI never runs half-working on another. The error says which install fixes it.
"""

from __future__ import annotations

from .errors import AbiMismatchError

ABI_VERSION = 3
# The oldest ABI this runtime still runs: ABI 2 added `PipelineSpec.defaults` and
# `CompiledPipeline`, ABI 3 `CachePolicy` (`LlmStep.cache`, `StepDefaults.cache`); each left
# everything an older module uses as it was.
OLDEST_ABI = 1
RUNTIME_VERSION = "0.1.0"

# The release series that speaks each ABI (for the `pip install` hint).
_RUNTIME_FOR_ABI: dict[int, str] = {1: "0.1", 2: "0.1", 3: "0.1"}


def check_abi(required: int, source: str) -> None:
    """Raise `AbiMismatchError` unless this runtime speaks ABI `required`.

    `source` names the generated module (or its pipeline source) for the message.
    """
    if OLDEST_ABI <= required <= ABI_VERSION:
        return
    here = (f"the installed mmoc_runtime {RUNTIME_VERSION} speaks ABI {OLDEST_ABI} to "
            f"{ABI_VERSION}")
    # The runtime ships inside the `mmoc` distribution, so that is what pip installs.
    made_with = _RUNTIME_FOR_ABI.get(required)
    if required > ABI_VERSION:
        hint = 'upgrade the runtime: pip install --upgrade "mmoc"'
    else:
        hint = 'regenerate it with a current compiler: pip install --upgrade "mmoc" and run ' \
               "`mmoc compile` again"
    if made_with:
        hint += f' (or install the release it was made with: pip install "mmoc=={made_with}.*")'
    raise AbiMismatchError(f"{source} was generated for runtime ABI {required}, but {here}; {hint}")
