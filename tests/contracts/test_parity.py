"""Parity: the contracts' money formulas (modules/rules.vy, through a
test-only harness) give exactly the outputs of tests/vectors/parity.json,
the same vectors engine/core/rules.py is tested against."""

import json

import boa
import boa.interpret
import pytest

from tests.contracts.conftest import CONTRACTS, ROOT

VECTORS = json.loads((ROOT / "tests" / "vectors" / "parity.json").read_text())


@pytest.fixture(scope="module")
def harness():
    previous = boa.interpret._search_path
    boa.interpret.set_search_paths([str(CONTRACTS)])
    try:
        return boa.load(str(ROOT / "tests" / "contracts" / "harness" / "RulesHarness.vy"))
    finally:
        boa.interpret.set_search_paths(previous)


def cases(name):
    return pytest.mark.parametrize("case", VECTORS[name], ids=lambda c: str(sorted(c.items()))[:60])


@cases("trade_cash")
def test_trade_cash__vector__matches(harness, case):
    pays, receives = harness.trade_cash(case["size"], case["price"])
    assert (pays, receives, pays - receives) == (
        case["buyer_pays"], case["seller_receives"], case["dust"])


@cases("fee")
def test_fee__vector__matches(harness, case):
    assert harness.fee(case["size"], case["price"], case["rate"]) == case["fee"]


@cases("position_value")
def test_position_value__vector__matches(harness, case):
    assert harness.position_value(case["size"], case["mark"]) == case["value"]


@cases("funding_owed")
def test_funding_owed__vector__matches(harness, case):
    assert harness.funding_owed(case["size"], case["index_now"], case["index_last"]) == case["owed"]


@cases("funding_index_step")
def test_funding_index_step__vector__matches(harness, case):
    assert harness.funding_index_step(case["rate"], case["mark"]) == case["step"]


@cases("margin_requirement")
def test_margin_requirement__vector__matches(harness, case):
    assert harness.margin_requirement(case["size"], case["mark"], case["fraction"]) == (
        case["requirement"])


@cases("equity")
def test_equity__vector__matches(harness, case):
    positions = [(p["size"], p["mark"], p["index_now"], p["index_last"]) for p in case["positions"]]
    assert harness.equity(case["cash"], positions) == case["equity"]


@cases("bankruptcy_price")
def test_bankruptcy_price__vector__matches(harness, case):
    assert harness.bankruptcy_price(case["size"], case["mark"], case["equity"]) == case["price"]


@cases("liquidation_fee")
def test_liquidation_fee__vector__matches(harness, case):
    assert harness.liquidation_fee(case["size"], case["price"], case["rate"],
                                   case["equity_after"]) == case["fee"]
