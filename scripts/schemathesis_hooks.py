"""Schemathesis hooks for the vigil intake (loaded by scripts/schemathesis).

The OpenAPI description marks receipts with the custom format
`vigil-receipt`: 128 bits in Crockford base32 plus two check characters that
catch a typo. No JSON Schema keyword can express a check character, so valid
receipts for positive tests come from here, computed as
crates/vigil-core/src/receipt.rs does; a receipt with a wrong check character
is a documented 422 (receipt_typo), not valid data.
"""

import base64
import hashlib

import schemathesis
from hypothesis import strategies as st

_RFC = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_TO_CROCKFORD = str.maketrans(_RFC, _CROCKFORD)


def receipt(secret: bytes, style: str) -> str:
    code = base64.b32encode(secret).decode().rstrip("=").translate(_TO_CROCKFORD)
    digest = hashlib.sha256(b"vigil receipt check v1\0" + secret).digest()
    bits = (digest[0] << 2) | (digest[1] >> 6)
    full = code + _CROCKFORD[bits >> 5] + _CROCKFORD[bits & 31]
    groups = [full[i : i + 4] for i in range(0, len(full), 4)]
    if style == "lower":
        return "-".join(groups).lower()
    if style == "spaces":
        return " ".join(groups)
    if style == "plain":
        return full
    return "-".join(groups)


schemathesis.openapi.format(
    "vigil-receipt",
    st.tuples(
        st.binary(min_size=16, max_size=16),
        st.sampled_from(["grouped", "lower", "spaces", "plain"]),
    ).map(lambda t: receipt(*t)),
)
