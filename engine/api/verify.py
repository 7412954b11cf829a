"""Fast checks on the API's hot path: signature recovery to raw address bytes, and a
shape check of an order object that skips the generic schema walk when it passes.

`signer_bytes` applies exactly the rules of `engine.eip712.recover` (65 bytes, v in
{27, 28}, r and s non-zero, s in the lower half order) and recovers with
coincurve, but returns the 20 address bytes instead of an EIP-55 string: the
checksum costs about as much as the recovery itself, and comparing bytes with the
trader's needs none. tests/api/test_verify.py pins it to `recover`.
"""

from __future__ import annotations

from coincurve import PublicKey
from eth_utils import keccak

from engine.eip712 import SECP256K1_HALF_N, SignatureError

_ORDER_REQUIRED = {"trader": str, "market": int, "is_buy": bool, "size": str,
                   "limit_price": str, "max_fee_rate": str, "nonce": (int, str),
                   "chain_id": int, "signature": str}
_ORDER_OPTIONAL = {"trigger_price": str, "flags": int, "expiry": (int, str),
                   "verifying_contract": str}


def signer_bytes(digest: bytes, signature: bytes) -> bytes:
    """The 20-byte address that signed `digest`; SignatureError if malformed or malleable."""
    if len(signature) != 65:
        raise SignatureError(f"signature must be 65 bytes, got {len(signature)}")
    v = signature[64]
    if v not in (27, 28):
        raise SignatureError(f"signature v must be 27 or 28, got {v}")
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    if s > SECP256K1_HALF_N or r == 0 or s == 0:
        raise SignatureError("signature s is not in the lower half order (malleable)")
    try:
        pub = PublicKey.from_signature_and_message(signature[:64] + bytes([v - 27]), digest,
                                                   hasher=None)
    except Exception as exc:  # coincurve raises plain Exception on bad points
        raise SignatureError(f"signature does not recover: {exc}") from exc
    return keccak(pub.format(compressed=False)[1:])[-20:]


def order_shape_ok(p: object) -> bool:
    """True if `p` has exactly the order's fields with the right JSON types (bool is not
    int here); formats are checked when the fields are parsed. False: run the schema
    validator for a precise message."""
    if type(p) is not dict:
        return False
    n = 0
    for name, kind in _ORDER_REQUIRED.items():
        value = p.get(name)
        if value is None or not isinstance(value, kind) or \
                (kind is not bool and type(value) is bool):
            return False
        n += 1
    for name, kind in _ORDER_OPTIONAL.items():
        if name in p:
            value = p[name]
            if not isinstance(value, kind) or type(value) is bool:
                return False
            n += 1
    return n == len(p) and p["market"] >= 0 and p["chain_id"] >= 0
