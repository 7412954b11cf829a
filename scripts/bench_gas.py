"""Settlement gas on py-evm: gas per fill and wall time per batch.

Prints one JSON object per line: {"name", "value", "unit", "fills",
"accounts", "touch", ...}. `touch` is "first" when every account in the batch
trades for the first time (new positions, new nonce words) and "repeat" when
the same accounts trade again. Every fill has a new resting maker order and
an IOC taker order, as a real batch does; each trader numbers its orders
0, 1, 2, ... (nonces below Exchange.NONCE_WINDOW = 64 are spent in the
account word, larger ones in the used_nonces bitmap). Run: make bench-gas
"""

from __future__ import annotations

import json
import sys
import time

from engine.chain.artifacts import compile_contracts
from engine.chain.deploy import deploy_all
from engine.chain.encode import BatchArgs, FillArgs, SignedOrder
from engine.chain.node import Chain
from engine.core import rules
from engine.core.orders import Order
from engine.core.rules import FLAG_IOC
from engine.core.wad import WAD
from engine.eip712 import Domain, price_hash, sign_digest, sign_order

USDC = 10**6
BPS = WAD // 10_000
PRICE = 2000 * WAD


class GasBench:
    def __init__(self) -> None:
        self.chain = Chain.pyevm()
        self.d = deploy_all(self.chain)
        self.domain = Domain(self.chain.chain_id, self.d.exchange.address)
        self.batch_id = 0
        self.nonces: dict[str, int] = {}
        self.market = self.d.market_ids["ETH-USD"]
        ts = self.chain.now()
        sig = sign_digest(self.d.roles["price-signer"].key,
                          price_hash(Domain(self.chain.chain_id, self.d.markets.address),
                                     self.market, PRICE, PRICE, ts))
        self.chain.send(self.d.markets.functions.post_prices(self.market, PRICE, PRICE, ts, sig),
                        self.d.roles["funding"])

    def accounts(self, tag: str, n: int) -> list:
        """n funded traders with 1,000,000 USDC each deposited."""
        out = []
        ex, usdc = self.d.exchange, self.d.usdc
        for i in range(n):
            acct = self.chain.signer(f"bench-{tag}-{i}")
            self.chain.send(usdc.functions.mint(acct.address, 10**6 * USDC), acct)
            self.chain.send(usdc.functions.approve(ex.address, 10**6 * USDC), acct)
            self.chain.send(ex.functions.deposit(10**6 * USDC), acct)
            out.append(acct)
        return out

    def next_nonce(self, trader) -> int:
        """Each wallet counts its own nonces from 0, as a wallet does."""
        n = self.nonces.get(trader.address, 0)
        self.nonces[trader.address] = n + 1
        return n

    def fill(self, maker, taker, maker_buys: bool) -> FillArgs:
        size = WAD // 10
        mo = Order(trader=maker.address, market=self.market, is_buy=maker_buys, size=size,
                   limit_price=PRICE, max_fee_rate=2 * BPS, nonce=self.next_nonce(maker))
        to = Order(trader=taker.address, market=self.market, is_buy=not maker_buys, size=size,
                   limit_price=PRICE, flags=FLAG_IOC, max_fee_rate=5 * BPS,
                   nonce=self.next_nonce(taker))
        return FillArgs(SignedOrder(mo, sign_order(maker.key, self.domain, mo)),
                        SignedOrder(to, sign_order(taker.key, self.domain, to)), size, PRICE,
                        rules.fee_amount(size, PRICE, 2 * BPS), rules.fee_amount(size, PRICE, 5 * BPS))

    def batch(self, accts: list, n_fills: int, flip: bool) -> dict:
        fills = []
        for i in range(n_fills):
            j = (2 * i) % len(accts)
            fills.append(self.fill(accts[j], accts[(j + 1) % len(accts)], maker_buys=(i % 2 == 0) ^ flip))
        self.batch_id += 1
        args = BatchArgs(self.batch_id, self.batch_id, self.batch_id, b"\x00" * 32, self.chain.now(),
                         tuple(fills))
        t0 = time.perf_counter()
        receipt = self.chain.send(self.d.exchange.functions.settle(args.as_tuple()),
                                  self.d.roles["settler"], gas=29_000_000)
        wall = time.perf_counter() - t0
        return {"gas": receipt["gasUsed"], "wall": wall, "touched": len(args.accounts)}


def main() -> int:
    compile_contracts()
    bench = GasBench()
    for n_accounts in (2, 20, 50):
        for n_fills in (1, 10, 100):
            accts = bench.accounts(f"{n_accounts}-{n_fills}", n_accounts)
            for touch, flip in (("first", False), ("repeat", True)):
                r = bench.batch(accts, n_fills, flip)
                common = {"fills": n_fills, "accounts": n_accounts, "touched": r["touched"],
                          "touch": touch, "chain": "py-evm"}
                print(json.dumps({"name": "gas_per_fill", "value": r["gas"] // n_fills,
                                  "unit": "gas", "batch_gas": r["gas"], **common}))
                print(json.dumps({"name": "batch_wall_s", "value": round(r["wall"], 4),
                                  "unit": "s", **common}))
                sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
