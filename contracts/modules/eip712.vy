# pragma version ~=0.4.3
"""
@title eip712
@notice The EIP-712 domain of the Exchange's orders: name "perpx", version
        "1", the chain id and the Exchange's address.
@dev The same digests as snekmate's eip712_domain_separator (tested against
     eth-account in tests/contracts), without what the Exchange does not use:
     snekmate keeps the name and version strings as immutables for EIP-5267's
     eip712Domain(), which the Exchange does not export, and the contract's
     own address for proxies, which it is never behind. Those 256 bytes of
     immutables are appended to the deployed code and the Exchange sits at
     the 24,576-byte limit. Name and version are constants here; the
     separator is cached for the deployment chain and rebuilt after a fork.
"""

_TYPE_HASH: constant(bytes32) = keccak256(
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
_HASHED_NAME: constant(bytes32) = keccak256("perpx")
_HASHED_VERSION: constant(bytes32) = keccak256("1")

_CACHED_DOMAIN_SEPARATOR: immutable(bytes32)
_CACHED_CHAIN_ID: immutable(uint256)


@deploy
def __init__():
    _CACHED_CHAIN_ID = chain.id
    _CACHED_DOMAIN_SEPARATOR = self._build_domain_separator()


@internal
@view
def _domain_separator_v4() -> bytes32:
    """
    @dev The domain separator of the current chain.
    """
    if chain.id == _CACHED_CHAIN_ID:
        return _CACHED_DOMAIN_SEPARATOR
    return self._build_domain_separator()


@internal
@view
def _build_domain_separator() -> bytes32:
    return keccak256(abi_encode(_TYPE_HASH, _HASHED_NAME, _HASHED_VERSION, chain.id, self))


@internal
@view
def _hash_typed_data_v4(struct_hash: bytes32) -> bytes32:
    """
    @dev The EIP-712 digest of a struct hash in this domain.
    """
    return keccak256(concat(x"1901", self._domain_separator_v4(), struct_hash))
