"""Trading fees and the JEX stake tiers that discount them (DESIGN section 9).

Rates are WAD fractions (100% == 10**18); stakes are JEX amounts in WAD.
The market's base maker/taker rates live on `MarketSpec`; the stake per
account is an input (`Account.stake`, set by a command from the checkpointed
on-chain stake), so staking for one block buys nothing.
"""

from __future__ import annotations

from engine.core import rules
from engine.core.wad import WAD, Rounding, mul_div

PCT = WAD // 100
JEX = WAD  # 1 JEX in WAD

# (minimum stake in JEX WAD, discount as a WAD fraction), ascending by stake.
STAKE_TIERS: tuple[tuple[int, int], ...] = (
    (1_000 * JEX, 5 * PCT),
    (5_000 * JEX, 10 * PCT),
    (10_000 * JEX, 15 * PCT),
    (50_000 * JEX, 20 * PCT),
    (100_000 * JEX, 30 * PCT),
    (250_000 * JEX, 40 * PCT),  # Staking.vy default thresholds
)
MAX_DISCOUNT = STAKE_TIERS[-1][1]


def stake_discount(stake: int) -> int:
    """Discount (WAD fraction) earned by `stake` JEX (WAD): the highest tier reached, else 0."""
    discount = 0
    for threshold, tier_discount in STAKE_TIERS:
        if stake < threshold:
            break
        discount = tier_discount
    return discount


def fee_rate(base_rate: int, stake: int) -> int:
    """The discounted fee rate (WAD fraction) for an account staking `stake` JEX (WAD).

    base_rate x (1 - discount), rounded down exactly as Staking.max_fee_rate and
    the Exchange's tier check do, so a fee at this rate always settles."""
    if base_rate < 0:
        raise ValueError(f"fee_rate: base_rate must not be negative, got {base_rate}")
    return mul_div(base_rate, WAD - stake_discount(stake), WAD, Rounding.DOWN)


def fee_for(size: int, price: int, rate: int) -> int:
    """Fee in WAD quote for a fill of `size` (WAD base) at `price` (WAD quote/base):
    exactly `rules.fee_amount`, the formula the contract checks against maxFeeRate."""
    return rules.fee_amount(size, price, rate)
