"""The demo's cast: who trades, with how much collateral, on which market.

Sized for the recorded feed (ETH ~2,300, BTC ~42,000 USD): the makers' books
are deep enough to absorb the over-leveraged trader's liquidation, so no
position ever needs the insurance fund's takeover. Deposits in WAD quote.
"""

from __future__ import annotations

from engine.core.markets import MarketSpec
from engine.core.wad import WAD
from engine.eip712 import Domain
from engine.sim.traders import (
    FundingArbitrageur,
    MarketMaker,
    OverLeveragedTrader,
    Taker,
    Trader,
)

USD = WAD


def _ladder(spec: MarketSpec, sizes: tuple[int, int, int]) -> tuple[tuple[int, int], ...]:
    """Three rungs at 4, 9 and 18 bps from the centre; sizes in step units."""
    return tuple((bps, n * spec.step_size) for bps, n in zip((4, 9, 18), sizes))


def build_roster(domain: Domain, specs: dict[str, MarketSpec], start_ms: int,
                 whale_delay_ms: int = 300_000) -> list[Trader]:
    """Two makers per market, four takers, one funding arbitrageur and one trader who
    opens 16x long ETH `whale_delay_ms` after `start_ms` and holds it."""
    eth, btc = specs["ETH-USD"], specs["BTC-USD"]
    both = (eth, btc)
    traders: list[Trader] = []
    for i in (1, 2):
        traders.append(MarketMaker(f"maker-eth-{i}", domain, 1_000_000 * USD, eth,
                                   _ladder(eth, (2_000, 5_000, 10_000)), 100 * WAD))
        traders.append(MarketMaker(f"maker-btc-{i}", domain, 1_000_000 * USD, btc,
                                   _ladder(btc, (1_200, 3_000, 6_000)), 6 * WAD))
    for i, (rate, lo, hi) in enumerate(((0.05, 2_000, 20_000), (0.04, 5_000, 40_000),
                                        (0.05, 1_000, 10_000), (0.03, 10_000, 60_000)), 1):
        traders.append(Taker(f"taker-{i}", domain, 150_000 * USD, both, rate,
                             (lo * USD, hi * USD)))
    traders.append(FundingArbitrageur("funding-arb", domain, 400_000 * USD, both,
                                      threshold_bps=3, clip_notional=25_000 * USD,
                                      max_notional=200_000 * USD))
    traders.append(OverLeveragedTrader("degen", domain, 3_000 * USD, eth, leverage=16,
                                       start_ms=start_ms + whale_delay_ms,
                                       clip_notional=12_000 * USD))
    return traders
