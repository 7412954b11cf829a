# pragma version ~=0.4.3
"""
@title sigs
@notice secp256k1 signature recovery that refuses malleable signatures.
@dev Stateless; imported without `initializes:`. Returns the zero address for
     any signature it refuses, so each caller reverts with its own message.
"""

# secp256k1n / 2: an `s` above it has a twin (n - s) that also verifies.
HALF_ORDER: constant(uint256) = 57896044618658097711785492504343953926418782139537452191302581570759080747168


@internal
@pure
def _recover(digest: bytes32, v: uint8, r: bytes32, s: bytes32) -> address:
    """
    @dev The signer of `digest`, or empty(address) if the signature is
         malformed, malleable (s in the upper half order) or does not recover.
    """
    if v != 27 and v != 28:
        return empty(address)
    if convert(s, uint256) > HALF_ORDER or r == empty(bytes32) or s == empty(bytes32):
        return empty(address)
    return ecrecover(digest, convert(v, uint256), r, s)


@internal
@pure
def _recover_bytes(digest: bytes32, signature: Bytes[65]) -> address:
    """
    @dev Same as `_recover` for a 65-byte r || s || v signature.
    """
    if len(signature) != 65:
        return empty(address)
    r: bytes32 = extract32(signature, 0)
    s: bytes32 = extract32(signature, 32)
    v: uint8 = convert(slice(signature, 64, 1), uint8)
    return self._recover(digest, v, r, s)
