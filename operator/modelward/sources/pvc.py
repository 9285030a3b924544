"""`pvc://` references: a volume modelward cannot read at admission, so never a source."""

from __future__ import annotations

from modelward import errors
from modelward.structs import refs

SCHEME = "pvc"


def unverifiable(ref: refs.ModelRef) -> errors.UnsupportedReference:
    """The denial for a `pvc://` reference a verifying policy governs: why it cannot be
    checked and the runtime check, instead of "unsupported scheme". The denial's hint for
    reason Unverifiable adds the other way out, a static authority that passes it."""
    return errors.UnsupportedReference(
        "unverifiable at admission: modelward cannot read a volume at admission; the runtime "
        "check verifies the files mounted into the pod",
        reason="Unverifiable",
        ref=ref.uri,
    )
