"""The liquidator: turns the engine's liquidations into fills the Exchange accepts.

The engine closes an account below maintenance with an IOC order flagged
reduce-only | IOC | liquidation (37) bounded by the bankruptcy price
(`LiquidationStarted`, then `TradeExecuted(liquidation=True)` per fill).
Nobody's wallet signed that order: the Exchange accepts a flag-32 order
signed by a `SETTLER_ROLE` key, and only against an account that is below
maintenance at the posted marks, at no worse than the bankruptcy price, with
the liquidated side's fee field equal to `rules.liquidation_fee` (the
engine's `taker_fee` of that fill). So this module signs the engine's order
(same fields, same nonce: the engine numbers its own orders, and the nonce
is spent in the settler's nonce bitmap) with the settler key, and the fill
goes into the ordinary settlement batch.

The same holds for the engine's other orders (`Order.engine_made`): what the
book could not absorb goes over at the bankruptcy price in a fill between a
fresh liquidation order and a backstop order (flag 64) of the insurance
account (`InsuranceTakeover`) or of a deleveraged trader, reduce-only
(`AutoDeleveraged`); the contract requires exactly the bankruptcy price and
no fees. A funding-risk step reduction is an IOC reduce-only order with flag
128, accepted against an account below initial margin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from eth_account.signers.local import LocalAccount

from engine.core.events import AutoDeleveraged, InsuranceTakeover, LiquidationStarted, TradeExecuted
from engine.core.orders import Order
from engine.eip712 import Domain, order_hash, sign_digest


@dataclass
class LiquidationStats:
    """Liquidations seen in the engine and what became of them on chain (WAD amounts)."""

    started: int = 0
    fills: int = 0
    size: int = 0
    fees: int = 0  # liquidation fees (to insurance)
    takeovers: int = 0  # legs taken over by the insurance account
    adl: int = 0  # legs deleveraged against opposite positions
    accounts: list[str] = field(default_factory=list)


class Liquidator:
    """Signs the engine's liquidation orders with the settler key; tracks liquidations."""

    def __init__(self, settler: LocalAccount, exchange_domain: Domain,
                 lookup: Callable[[bytes], tuple[Order, bytes]]) -> None:
        self.settler = settler
        self.domain = exchange_domain
        self.lookup = lookup  # the engine's signed_order(hash)
        self.stats = LiquidationStats()
        self._signed: dict[bytes, bytes] = {}

    def signed_order(self, h: bytes) -> tuple[Order, bytes]:
        """(order, 65-byte signature) for a fill: the trader's own signature, or the
        settler's for an order the engine made (flags 32, 64, 128)."""
        order, signature = self.lookup(h)
        if signature or not order.engine_made:
            return order, signature
        sig = self._signed.get(h)
        if sig is None:
            sig = sign_digest(self.settler.key, order_hash(self.domain, order))
            self._signed[h] = sig
        return order, sig

    def observe(self, events: list) -> None:
        """Count the liquidation events of one command."""
        st = self.stats
        for ev in events:
            kind = type(ev)
            if kind is LiquidationStarted:
                st.started += 1
                if ev.account not in st.accounts:
                    st.accounts.append(ev.account)
            elif kind is TradeExecuted and ev.liquidation:
                st.fills += 1
                st.size += ev.size
                st.fees += ev.taker_fee
            elif kind is InsuranceTakeover:
                st.takeovers += 1
            elif kind is AutoDeleveraged:
                st.adl += 1

    def forget(self, h: bytes) -> None:
        """Drop the cached signature of a settled engine order."""
        self._signed.pop(h, None)
