"""engine/core/rules.py against the shared parity vectors (tests/vectors/parity.json).

The contracts run the same file in tests/contracts/test_parity.py, so the
Python engine and the Vyper contracts cannot drift apart.
"""

import json
from pathlib import Path

import pytest

from engine.core import rules
from engine.core.wad import WAD, Rounding, ceil_div, mul_div

VECTORS = json.loads((Path(__file__).parent.parent / "vectors" / "parity.json").read_text())


@pytest.mark.parametrize("v", VECTORS["trade_cash"])
def test_trade_cash__vector__matches(v):
    cash = rules.trade_cash(v["size"], v["price"])
    assert (cash.buyer_pays, cash.seller_receives, cash.dust) == (
        v["buyer_pays"], v["seller_receives"], v["dust"])


@pytest.mark.parametrize("v", VECTORS["fee"])
def test_fee_amount__vector__matches(v):
    assert rules.fee_amount(v["size"], v["price"], v["rate"]) == v["fee"]
    assert rules.fee_cap(v["size"], v["price"], v["rate"]) == v["fee"]


@pytest.mark.parametrize("v", VECTORS["position_value"])
def test_position_value__vector__matches(v):
    assert rules.position_value(v["size"], v["mark"]) == v["value"]


@pytest.mark.parametrize("v", VECTORS["funding_owed"])
def test_funding_owed__vector__matches(v):
    assert rules.funding_owed(v["size"], v["index_now"], v["index_last"]) == v["owed"]


@pytest.mark.parametrize("v", VECTORS["funding_index_step"])
def test_funding_index_step__vector__matches(v):
    assert rules.funding_index_step(v["rate"], v["mark"]) == v["step"]


@pytest.mark.parametrize("v", VECTORS["margin_requirement"])
def test_margin_requirement__vector__matches(v):
    assert rules.margin_requirement(v["size"], v["mark"], v["fraction"]) == v["requirement"]


@pytest.mark.parametrize("v", VECTORS["equity"])
def test_equity__vector__matches(v):
    positions = [rules.PositionMark(**p) for p in v["positions"]]
    assert rules.equity(v["cash"], positions) == v["equity"]


@pytest.mark.parametrize("v", VECTORS["bankruptcy_price"])
def test_bankruptcy_price__vector__matches(v):
    assert rules.bankruptcy_price(v["size"], v["mark"], v["equity"]) == v["price"]


@pytest.mark.parametrize("v", VECTORS["liquidation_fee"])
def test_liquidation_fee__vector__matches(v):
    assert rules.liquidation_fee(v["size"], v["price"], v["rate"], v["equity_after"]) == v["fee"]


def test_mul_div__negative_product__truncates_toward_zero_like_vyper():
    assert mul_div(-7, 3, 2, Rounding.DOWN) == -10  # -10.5 -> -10
    assert mul_div(-7, 3, 2, Rounding.UP) == -11
    assert mul_div(7, 3, 2, Rounding.DOWN) == 10
    assert mul_div(7, 3, 2, Rounding.UP) == 11
    assert mul_div(6, 3, 2, Rounding.UP) == 9


def test_mul_div__zero_divisor__raises_naming_divisor():
    with pytest.raises(ValueError, match="divisor"):
        mul_div(1, 1, 0, Rounding.DOWN)


def test_ceil_div__negative__rounds_toward_plus_infinity():
    assert ceil_div(-7, 2) == -3
    assert ceil_div(7, 2) == 4


def test_trade_cash__one_third_price__dust_is_one_wei():
    # 1 ETH at 1/3 USD: exact notional 0.333...; buyer pays ...334, seller gets ...333
    cash = rules.trade_cash(WAD, WAD // 3)
    assert cash.buyer_pays == 333_333_333_333_333_333
    assert cash.seller_receives == 333_333_333_333_333_333
    assert cash.dust == 0
    cash = rules.trade_cash(WAD // 1000, 333_333_333_333_333_333)
    assert (cash.buyer_pays, cash.seller_receives, cash.dust) == (
        333_333_333_333_334, 333_333_333_333_333, 1)


def test_bankruptcy_price__long_with_5_percent_equity__is_95_percent_of_mark():
    # long 1 ETH at mark 100 with equity 5: closing at 95 leaves zero
    assert rules.bankruptcy_price(WAD, 100 * WAD, 5 * WAD) == 95 * WAD
    assert rules.bankruptcy_price(-WAD, 100 * WAD, 5 * WAD) == 105 * WAD
