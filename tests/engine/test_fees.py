"""engine.core.fees: stake tiers and fee amounts, with worked numbers."""

from __future__ import annotations

import pytest

from engine.core.fees import STAKE_TIERS, fee_for, fee_rate, stake_discount

W = 10**18
TAKER_RATE = 5 * 10**14  # 0.05%
MAKER_RATE = 2 * 10**14  # 0.02%


@pytest.mark.parametrize(
    ("stake", "rate"),
    [
        (0, 500_000_000_000_000),
        (1_000 * W - 1, 500_000_000_000_000),  # just below the first tier
        (1_000 * W, 475_000_000_000_000),  # -5%
        (5_000 * W, 450_000_000_000_000),  # -10%
        (10_000 * W, 425_000_000_000_000),  # -15%
        (50_000 * W, 400_000_000_000_000),  # -20%
        (100_000 * W, 350_000_000_000_000),  # -30%
        (250_000 * W - 1, 350_000_000_000_000),  # just below the top tier
        (250_000 * W, 300_000_000_000_000),  # -40% (Staking.vy's default top threshold)
        (10_000_000 * W, 300_000_000_000_000),  # no tier beyond 40%
    ],
)
def test_fee_rate__stake_tiers__taker_rate_discounted(stake, rate):
    assert fee_rate(TAKER_RATE, stake) == rate


def test_fee_rate__maker_top_tier__forty_percent_off():
    assert fee_rate(MAKER_RATE, 500_000 * W) == 120_000_000_000_000  # 0.012%


def test_fee_rate__fractional_discount__rounds_down_like_staking_contract():
    # Staking.max_fee_rate floors base x (1 - discount); the Exchange refuses more
    assert fee_rate(1, 1_000 * W) == 0  # floor(0.95)
    assert fee_rate(3, 100_000 * W) == 2  # floor(2.1)
    assert fee_rate(20, 250_000 * W) == 12  # exact


def test_fee_rate__negative_base__raises():
    with pytest.raises(ValueError, match="base_rate must not be negative"):
        fee_rate(-1, 0)


def test_stake_discount__tiers__ascending_up_to_forty_percent():
    assert [d for _, d in STAKE_TIERS] == [5 * 10**16, 10**17, 15 * 10**16, 2 * 10**17,
                                           3 * 10**17, 4 * 10**17]
    assert stake_discount(4_999 * W) == 5 * 10**16


def test_fee_for__discounted_rate__exact_quote_amount():
    # 2 ETH at 2000 = 4000 notional x 0.0475% = 1.9
    assert fee_for(2 * W, 2000 * W, 475_000_000_000_000) == 1_900_000_000_000_000_000
    assert fee_for(-2 * W, 2000 * W, 475_000_000_000_000) == 1_900_000_000_000_000_000


def test_fee_for__dust_notional__rounds_up():
    assert fee_for(1, 1, TAKER_RATE) == 0  # notional floor(1e-36) = 0
    assert fee_for(3 * W, 1, TAKER_RATE) == 1  # notional 3 wei -> fee ceil(1.5e-3) = 1 wei
