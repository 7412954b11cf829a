"""EIP-712 typed data for perpx: Order, Cancel and Price, hashing and signing.

The domain is name="perpx", version="1", the chain id and the verifying
contract (the Exchange for Order and Cancel, the Markets contract for Price).
Hashes are computed directly with keccak so the hot path (the API checking a
signature) does not build typed-data dictionaries; `typed_data()` gives the
same message for wallets, and tests pin the two together.
"""

from __future__ import annotations

from dataclasses import dataclass

from coincurve import PublicKey
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak, to_checksum_address

from engine.core.orders import Order

ORDER_TYPE = (
    "Order(address trader,uint256 market,bool isBuy,uint256 size,uint256 limitPrice,"
    "uint256 triggerPrice,uint256 flags,uint256 maxFeeRate,uint256 nonce,uint256 expiry)"
)
CANCEL_TYPE = "Cancel(address trader,bytes32 orderHash,uint256 nonce)"
PRICE_TYPE = "Price(uint256 market,uint256 index,uint256 mark,uint256 timestamp)"
DOMAIN_TYPE = (
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
ORDER_TYPEHASH = keccak(text=ORDER_TYPE)
CANCEL_TYPEHASH = keccak(text=CANCEL_TYPE)
PRICE_TYPEHASH = keccak(text=PRICE_TYPE)
DOMAIN_TYPEHASH = keccak(text=DOMAIN_TYPE)

_FIELDS = {
    "Order": [
        {"name": "trader", "type": "address"},
        {"name": "market", "type": "uint256"},
        {"name": "isBuy", "type": "bool"},
        {"name": "size", "type": "uint256"},
        {"name": "limitPrice", "type": "uint256"},
        {"name": "triggerPrice", "type": "uint256"},
        {"name": "flags", "type": "uint256"},
        {"name": "maxFeeRate", "type": "uint256"},
        {"name": "nonce", "type": "uint256"},
        {"name": "expiry", "type": "uint256"},
    ],
    "Cancel": [
        {"name": "trader", "type": "address"},
        {"name": "orderHash", "type": "bytes32"},
        {"name": "nonce", "type": "uint256"},
    ],
    "Price": [
        {"name": "market", "type": "uint256"},
        {"name": "index", "type": "uint256"},
        {"name": "mark", "type": "uint256"},
        {"name": "timestamp", "type": "uint256"},
    ],
}
_DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
SECP256K1_HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0


class SignatureError(ValueError):
    """A signature that is malformed or does not recover an address."""


@dataclass(frozen=True, slots=True)
class Domain:
    """An EIP-712 domain of perpx: the chain id and the verifying contract."""

    chain_id: int
    verifying_contract: str
    name: str = "perpx"
    version: str = "1"

    @property
    def separator(self) -> bytes:
        return keccak(
            DOMAIN_TYPEHASH
            + keccak(text=self.name)
            + keccak(text=self.version)
            + _word(self.chain_id)
            + _addr(self.verifying_contract)
        )

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "version": self.version,
            "chainId": self.chain_id,
            "verifyingContract": to_checksum_address(self.verifying_contract),
        }


def _word(value: int) -> bytes:
    return int(value).to_bytes(32, "big")


def _addr(address: str) -> bytes:
    return bytes(12) + bytes.fromhex(address[2:] if address.startswith("0x") else address)


def order_message(order: Order) -> dict:
    """The Order as its typed-data message (camelCase field names)."""
    return {
        "trader": to_checksum_address(order.trader),
        "market": order.market,
        "isBuy": order.is_buy,
        "size": order.size,
        "limitPrice": order.limit_price,
        "triggerPrice": order.trigger_price,
        "flags": order.flags,
        "maxFeeRate": order.max_fee_rate,
        "nonce": order.nonce,
        "expiry": order.expiry,
    }


def order_struct_hash(order: Order) -> bytes:
    """hashStruct(Order)."""
    return keccak(
        ORDER_TYPEHASH
        + _addr(order.trader)
        + _word(order.market)
        + _word(1 if order.is_buy else 0)
        + _word(order.size)
        + _word(order.limit_price)
        + _word(order.trigger_price)
        + _word(order.flags)
        + _word(order.max_fee_rate)
        + _word(order.nonce)
        + _word(order.expiry)
    )


def digest(domain: Domain, struct_hash: bytes) -> bytes:
    """The 32-byte EIP-712 digest that is signed: keccak(0x1901 || domain || struct)."""
    return keccak(b"\x19\x01" + domain.separator + struct_hash)


def order_hash(domain: Domain, order: Order) -> bytes:
    """The order's id everywhere: the EIP-712 digest of the Order (== Exchange.order_hash)."""
    return digest(domain, order_struct_hash(order))


def cancel_hash(domain: Domain, trader: str, order_hash_: bytes, nonce: int) -> bytes:
    """EIP-712 digest of a Cancel."""
    return digest(domain, keccak(CANCEL_TYPEHASH + _addr(trader) + order_hash_ + _word(nonce)))


def price_hash(domain: Domain, market: int, index: int, mark: int, timestamp: int) -> bytes:
    """EIP-712 digest of a Price entry (domain: the Markets contract)."""
    body = PRICE_TYPEHASH + _word(market) + _word(index) + _word(mark) + _word(timestamp)
    return digest(domain, keccak(body))


def typed_data(domain: Domain, primary_type: str, message: dict) -> dict:
    """Full typed data for a wallet (eth_signTypedData_v4)."""
    return {
        "types": {"EIP712Domain": _DOMAIN_FIELDS, primary_type: _FIELDS[primary_type]},
        "primaryType": primary_type,
        "domain": domain.as_dict(),
        "message": message,
    }


def sign_digest(private_key: bytes | str, digest_: bytes) -> bytes:
    """65-byte signature r || s || v (v in {27, 28}) over a 32-byte digest."""
    signed = Account._sign_hash(digest_, private_key)  # noqa: SLF001 - the raw-hash signer
    return signed.r.to_bytes(32, "big") + signed.s.to_bytes(32, "big") + bytes([signed.v])


def sign_order(private_key: bytes | str, domain: Domain, order: Order) -> bytes:
    """Sign an Order with eth-account's typed-data signer (what a wallet does)."""
    msg = encode_typed_data(full_message=typed_data(domain, "Order", order_message(order)))
    signed = Account.sign_message(msg, private_key)
    return signed.r.to_bytes(32, "big") + signed.s.to_bytes(32, "big") + bytes([signed.v])


def recover(digest_: bytes, signature: bytes) -> str:
    """Signer of `digest_` (checksummed), using coincurve; rejects malleable s."""
    if len(signature) != 65:
        raise SignatureError(f"signature must be 65 bytes, got {len(signature)}")
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    v = signature[64]
    if v not in (27, 28):
        raise SignatureError(f"signature v must be 27 or 28, got {v}")
    if s > SECP256K1_HALF_N or r == 0 or s == 0:
        raise SignatureError("signature s is not in the lower half order (malleable)")
    try:
        pub = PublicKey.from_signature_and_message(
            signature[:64] + bytes([v - 27]), digest_, hasher=None
        )
    except Exception as exc:  # coincurve raises plain Exception on bad points
        raise SignatureError(f"signature does not recover: {exc}") from exc
    return to_checksum_address(keccak(pub.format(compressed=False)[1:])[-20:])


def split_signature(signature: bytes) -> tuple[int, bytes, bytes]:
    """(v, r, s) of a 65-byte signature, as the contracts take them."""
    return signature[64], signature[:32], signature[32:64]
