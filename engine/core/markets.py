"""Market specifications: the risk and funding parameters of one perpetual.

The same parameters live on chain (contracts/Markets.vy) and change only by
governance, within the bounds below; the engine mirrors them.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.core.wad import WAD

PCT = WAD // 100  # 1% as a WAD fraction
BPS = WAD // 10_000  # 0.01% as a WAD fraction
HOUR_S = 3600

# Hard bounds that governance cannot cross (mirrored in contracts/Markets.vy).
IMF_BOUNDS = (1 * PCT, 50 * PCT)
MMF_MIN = PCT // 2  # 0.5%; and MMF < IMF
FUNDING_INTERVAL_BOUNDS_S = (1 * HOUR_S, 12 * HOUR_S)  # must divide 24 h
FUNDING_CAP_MAX = 5 * PCT  # per interval
FUNDING_MAX_CHANGE_MAX = 5 * PCT  # per interval
LIQUIDATION_FEE_MAX = 5 * PCT


@dataclass(frozen=True, slots=True)
class MarketSpec:
    """One market. Prices in WAD quote per base, sizes in WAD base, fractions in WAD."""

    market_id: int
    symbol: str
    tick_size: int
    step_size: int
    imf: int = 5 * PCT
    mmf: int = 3 * PCT
    funding_interval_s: int = 8 * HOUR_S
    funding_cap: int = 225 * BPS  # 0.75 x MMF per interval
    funding_max_change: int = 50 * BPS  # per interval, against the previous rate
    liquidation_fee_rate: int = 50 * BPS  # 0.5% of notional
    maker_fee_rate: int = 2 * BPS  # 0.02%
    taker_fee_rate: int = 5 * BPS  # 0.05%

    @property
    def impact_notional(self) -> int:
        """Impact notional for premium sampling: 200 USDC / IMF, in WAD quote."""
        return 200 * WAD * WAD // self.imf

    def check(self) -> None:
        """Raise ValueError naming the first parameter outside its hard bound."""
        if self.tick_size <= 0:
            raise ValueError("tick_size must be positive")
        if self.step_size <= 0:
            raise ValueError("step_size must be positive")
        if not IMF_BOUNDS[0] <= self.imf <= IMF_BOUNDS[1]:
            raise ValueError(f"imf {self.imf} outside {IMF_BOUNDS}")
        if not MMF_MIN <= self.mmf < self.imf:
            raise ValueError(f"mmf {self.mmf} must be >= {MMF_MIN} and < imf")
        lo, hi = FUNDING_INTERVAL_BOUNDS_S
        if not lo <= self.funding_interval_s <= hi or (24 * HOUR_S) % self.funding_interval_s:
            raise ValueError(f"funding_interval_s {self.funding_interval_s} must divide 24h, 1h..12h")
        if not 0 < self.funding_cap <= FUNDING_CAP_MAX:
            raise ValueError(f"funding_cap {self.funding_cap} outside (0, {FUNDING_CAP_MAX}]")
        if not 0 < self.funding_max_change <= FUNDING_MAX_CHANGE_MAX:
            raise ValueError(f"funding_max_change {self.funding_max_change} out of bounds")
        if not 0 <= self.liquidation_fee_rate <= LIQUIDATION_FEE_MAX:
            raise ValueError(f"liquidation_fee_rate {self.liquidation_fee_rate} out of bounds")


def default_markets() -> tuple[MarketSpec, ...]:
    """The two markets the demo and the benchmarks run: ETH-USD and BTC-USD."""
    return (
        MarketSpec(market_id=1, symbol="ETH-USD", tick_size=WAD // 100, step_size=WAD // 1000),
        MarketSpec(market_id=2, symbol="BTC-USD", tick_size=WAD // 10, step_size=WAD // 10_000),
    )
