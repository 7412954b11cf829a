"""Shared titanoboa fixtures for the JEX token-economy contracts.

Import with `from tests.contracts.jex_fixtures import *` in a test module.
The Exchange is not part of these contracts' tests: an `exchange` account,
registered as the Exchange in InsuranceFund and FeeRouter, plays its calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import boa
import pytest

ROOT = Path(__file__).resolve().parents[2]
WAD = 10**18
USDC = 10**6  # one whole USDC in token units
JEX = 10**18  # one whole JEX in wei
SUPPLY = 100_000_000 * JEX
WEEK = 7 * 86400
DAY = 86400
REFERENCE_PRICE = 4 * WAD  # JEX per USDC: JEX trades at 0.25 USDC

__all__ = [
    "DAY", "JEX", "REFERENCE_PRICE", "SUPPLY", "USDC", "WAD", "WEEK",
    "System", "deployer", "exchange", "system", "treasury", "trader", "staker", "stranger",
    "contract", "deploy_system", "give_jex", "mine", "route_fees", "stake", "to_epoch_start",
]


@cache
def contract(name: str):
    """Compile contracts/<name>.vy once per session; returns a deployer."""
    return boa.load_partial(str(ROOT / "contracts" / f"{name}.vy"))


@dataclass
class System:
    """The token-economy contracts, wired as the lead's deploy script will."""

    usdc: object
    jex: object
    insurance: object
    staking: object
    buyback: object
    router: object
    deployer: str
    exchange: str
    treasury: str


def deploy_system(deployer: str, exchange: str, treasury: str) -> System:
    """Deploy and wire USDC, JEX, InsuranceFund, Staking, BuybackBurn, FeeRouter."""
    with boa.env.prank(deployer):
        usdc = contract("MockUSDC").deploy()
        jex = contract("JexToken").deploy(treasury, SUPPLY)
        insurance = contract("InsuranceFund").deploy(usdc.address, jex.address)
        staking = contract("Staking").deploy(jex.address, usdc.address)
        buyback = contract("BuybackBurn").deploy(usdc.address, jex.address, REFERENCE_PRICE)
        router = contract("FeeRouter").deploy(
            usdc.address, insurance.address, staking.address, buyback.address, treasury
        )
        insurance.set_exchange(exchange)
        insurance.set_fee_router(router.address)
        staking.set_fee_router(router.address)
        buyback.set_fee_router(router.address)
        router.set_exchange(exchange)
    return System(usdc, jex, insurance, staking, buyback, router, deployer, exchange, treasury)


def mine(blocks: int = 1) -> None:
    """Advance the chain by `blocks` blocks (12 s each)."""
    boa.env.time_travel(blocks=blocks)


def to_epoch_start(offset: int = 0) -> None:
    """Move time to the start of the next 7-day epoch, plus `offset` seconds."""
    now = boa.env.evm.patch.timestamp
    boa.env.time_travel(seconds=(now // WEEK + 1) * WEEK + offset - now)


@pytest.fixture
def deployer() -> str:
    return boa.env.generate_address("deployer")


@pytest.fixture
def exchange() -> str:
    return boa.env.generate_address("exchange")


@pytest.fixture
def treasury() -> str:
    return boa.env.generate_address("treasury")


@pytest.fixture
def trader() -> str:
    return boa.env.generate_address("trader")


@pytest.fixture
def staker() -> str:
    return boa.env.generate_address("staker")


@pytest.fixture
def stranger() -> str:
    return boa.env.generate_address("stranger")


@pytest.fixture
def system(deployer, exchange, treasury) -> System:
    with boa.env.anchor():
        yield deploy_system(deployer, exchange, treasury)


def route_fees(s: System, batch_id: int, amount: int) -> None:
    """The exchange settles `amount` USDC of fees in `batch_id` and routes them."""
    s.usdc.mint(s.exchange, amount)
    with boa.env.prank(s.exchange):
        s.usdc.approve(s.router.address, amount)
        s.router.route_fees(batch_id, amount)


def give_jex(s: System, to: str, amount: int) -> None:
    """The treasury hands `amount` JEX wei to `to`."""
    with boa.env.prank(s.treasury):
        s.jex.transfer(to, amount)


def stake(s: System, who: str, amount: int) -> None:
    """`who` receives `amount` JEX from the treasury and stakes it."""
    give_jex(s, who, amount)
    with boa.env.prank(who):
        s.jex.approve(s.staking.address, amount)
        s.staking.stake(amount)
