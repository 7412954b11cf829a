"""Governor: threshold, checkpointed votes, quorum, timelock, whitelist, council."""

from __future__ import annotations

import boa
import pytest

from tests.contracts.jex_fixtures import *  # noqa: F403
from tests.contracts.jex_fixtures import JEX, SUPPLY, WAD, contract, give_jex, mine

VOTING_DELAY = 1
VOTING_PERIOD = 10
QUORUM = 4 * 10**16  # 4% of supply = 4,000,000 JEX
TIMELOCK = 3600
PENDING, ACTIVE, CANCELED, DEFEATED, SUCCEEDED, QUEUED, EXPIRED, EXECUTED = range(8)

# A stand-in for the Exchange's governance surface, deployed only here: a
# bounded setter, the guardian's pause, and a call governance must never make.
STAND_IN = """
# pragma version ~=0.4.3
governance: public(address)
taker_fee: public(uint256)
new_risk_paused: public(bool)

@deploy
def __init__(governance_: address):
    self.governance = governance_
    self.taker_fee = 5 * 10**14

@external
def set_taker_fee(rate: uint256):
    assert msg.sender == self.governance, "stand_in: caller is not governance"
    assert rate >= 10**14 and rate <= 10**15, "stand_in: taker fee out of bounds"
    self.taker_fee = rate

@external
def pause_new_risk():
    assert msg.sender == self.governance, "stand_in: caller is not the guardian"
    self.new_risk_paused = True

@external
def sweep(to: address):
    assert msg.sender == self.governance, "stand_in: caller is not governance"
"""


def selector(signature: str) -> bytes:
    from eth_utils import keccak

    return keccak(text=signature)[:4]


def set_fee_call(rate: int) -> bytes:
    return selector("set_taker_fee(uint256)") + rate.to_bytes(32, "big")


@pytest.fixture
def gov(system, deployer):
    """Governor over the system's JEX, a stand-in target it governs, wired and locked."""
    with boa.env.prank(deployer):
        governor = contract("Governor").deploy(system.jex.address, VOTING_DELAY, VOTING_PERIOD, QUORUM, TIMELOCK)
        target = boa.loads(STAND_IN, governor.address)
        governor.set_whitelisted(target.address, selector("set_taker_fee(uint256)"), True)
        governor.set_pause_target(target.address, selector("pause_new_risk()"))
        system.router.transfer_ownership(governor.address)
        governor.set_whitelisted(
            system.router.address, selector("set_revenue_shares(uint256,uint256,uint256)"), True)
        governor.lock_whitelist()
    return governor, target


def delegate_votes(s, who: str, amount: int) -> None:
    give_jex(s, who, amount)
    with boa.env.prank(who):
        s.jex.delegate(who)


def propose(governor, proposer, target, data, description="change the taker fee"):
    with boa.env.prank(proposer):
        return governor.propose(target, data, description)


def test_lifecycle__proposal_passes__taker_fee_changes_after_timelock(system, gov, trader, staker):
    governor, target = gov
    delegate_votes(system, trader, 10_000 * JEX)
    delegate_votes(system, staker, 5_000_000 * JEX)
    mine()
    pid = propose(governor, trader, target.address, set_fee_call(4 * 10**14))
    assert pid == 1
    assert governor.state(pid) == PENDING
    mine(VOTING_DELAY + 1)
    assert governor.state(pid) == ACTIVE
    with boa.env.prank(staker):
        assert governor.cast_vote(pid, 1) == 5_000_000 * JEX
    mine(VOTING_PERIOD)
    assert governor.state(pid) == SUCCEEDED
    eta = governor.queue(pid)
    assert eta == boa.env.evm.patch.timestamp + TIMELOCK
    assert governor.state(pid) == QUEUED
    with boa.reverts("governor: timelock not over"):
        governor.execute(pid)
    boa.env.time_travel(seconds=TIMELOCK)
    governor.execute(pid)
    assert target.taker_fee() == 4 * 10**14
    assert governor.state(pid) == EXECUTED
    with boa.reverts("governor: proposal not queued"):
        governor.execute(pid)


def test_execute__real_fee_router__revenue_shares_change(system, gov, trader):
    governor, _ = gov
    delegate_votes(system, trader, 5_000_000 * JEX)
    mine()
    data = selector("set_revenue_shares(uint256,uint256,uint256)") + b"".join(
        x.to_bytes(32, "big") for x in (4 * 10**17, 3 * 10**17, 3 * 10**17))
    pid = propose(governor, trader, system.router.address, data)
    mine(2)
    with boa.env.prank(trader):
        governor.cast_vote(pid, 1)
    mine(VOTING_PERIOD)
    governor.queue(pid)
    boa.env.time_travel(seconds=TIMELOCK)
    governor.execute(pid)
    assert (system.router.staker_share(), system.router.buyback_share()) == (4 * 10**17, 3 * 10**17)


def test_execute__value_outside_target_bounds__reverts_and_nothing_changes(system, gov, trader):
    governor, target = gov
    delegate_votes(system, trader, 5_000_000 * JEX)
    mine()
    pid = propose(governor, trader, target.address, set_fee_call(10**15 + 1))
    mine(2)
    with boa.env.prank(trader):
        governor.cast_vote(pid, 1)
    mine(VOTING_PERIOD)
    governor.queue(pid)
    boa.env.time_travel(seconds=TIMELOCK)
    with boa.reverts("stand_in: taker fee out of bounds"):
        governor.execute(pid)
    assert target.taker_fee() == 5 * 10**14
    assert governor.state(pid) == QUEUED


def test_propose__under_threshold__reverts(system, gov, trader):
    governor, target = gov
    delegate_votes(system, trader, 10_000 * JEX - 1)
    mine()
    with boa.reverts("governor: proposer votes below threshold"):
        propose(governor, trader, target.address, set_fee_call(4 * 10**14))


def test_propose__votes_bought_this_block__reverts(system, gov, trader):
    governor, target = gov
    delegate_votes(system, trader, 1_000_000 * JEX)
    with boa.reverts("governor: proposer votes below threshold"):
        propose(governor, trader, target.address, set_fee_call(4 * 10**14))


def test_propose__call_not_whitelisted__reverts(system, gov, trader):
    governor, target = gov
    delegate_votes(system, trader, 10_000 * JEX)
    mine()
    with boa.reverts("governor: call not whitelisted"):
        propose(governor, trader, target.address, selector("sweep(address)") + bytes(32))
    with boa.reverts("governor: call not whitelisted"):
        propose(governor, trader, system.router.address, selector("set_treasury(address)") + bytes(32))
    with boa.reverts("governor: calldata too short"):
        propose(governor, trader, target.address, b"\x01\x02\x03")


def test_cast_vote__rules__each_refusal(system, gov, trader, staker, stranger):
    governor, target = gov
    delegate_votes(system, trader, 10_000 * JEX)
    mine()
    pid = propose(governor, trader, target.address, set_fee_call(4 * 10**14))
    with boa.env.prank(trader), boa.reverts("governor: voting is closed"):
        governor.cast_vote(pid, 1)
    mine(VOTING_DELAY + 1)
    delegate_votes(system, stranger, 1_000_000 * JEX)  # after the start block: weighs nothing
    mine()
    with boa.env.prank(stranger), boa.reverts("governor: no votes"):
        governor.cast_vote(pid, 1)
    with boa.env.prank(trader):
        with boa.reverts("governor: invalid vote type"):
            governor.cast_vote(pid, 3)
        governor.cast_vote(pid, 2)
        with boa.reverts("governor: already voted"):
            governor.cast_vote(pid, 1)
    with boa.reverts("governor: unknown proposal"):
        governor.state(pid + 1)


def test_state__quorum_missed__defeated(system, gov, trader):
    governor, target = gov
    delegate_votes(system, trader, 4_000_000 * JEX - 1)
    mine()
    pid = propose(governor, trader, target.address, set_fee_call(4 * 10**14))
    mine(2)
    assert governor.quorum(governor.proposals(pid).start_block) == 4_000_000 * JEX
    with boa.env.prank(trader):
        governor.cast_vote(pid, 1)
    mine(VOTING_PERIOD)
    assert governor.state(pid) == DEFEATED
    with boa.reverts("governor: proposal not successful"):
        governor.queue(pid)


def test_state__more_against__defeated(system, gov, trader, staker):
    governor, target = gov
    delegate_votes(system, trader, 5_000_000 * JEX)
    delegate_votes(system, staker, 5_000_001 * JEX)
    mine()
    pid = propose(governor, trader, target.address, set_fee_call(4 * 10**14))
    mine(2)
    with boa.env.prank(trader):
        governor.cast_vote(pid, 1)
    with boa.env.prank(staker):
        governor.cast_vote(pid, 0)
    mine(VOTING_PERIOD)
    p = governor.proposals(pid)
    assert (p.for_votes, p.against_votes) == (5_000_000 * JEX, 5_000_001 * JEX)
    assert governor.state(pid) == DEFEATED


def test_state__queued_past_grace__expired(system, gov, trader):
    governor, target = gov
    delegate_votes(system, trader, 5_000_000 * JEX)
    mine()
    pid = propose(governor, trader, target.address, set_fee_call(4 * 10**14))
    mine(2)
    with boa.env.prank(trader):
        governor.cast_vote(pid, 1)
    mine(VOTING_PERIOD)
    governor.queue(pid)
    boa.env.time_travel(seconds=TIMELOCK + 14 * 86400)
    assert governor.state(pid) == EXPIRED
    with boa.reverts("governor: proposal not queued"):
        governor.execute(pid)


def test_cancel__proposer_only__then_final(system, gov, trader, stranger):
    governor, target = gov
    delegate_votes(system, trader, 10_000 * JEX)
    mine()
    pid = propose(governor, trader, target.address, set_fee_call(4 * 10**14))
    with boa.env.prank(stranger), boa.reverts("governor: caller is not the proposer"):
        governor.cancel(pid)
    with boa.env.prank(trader):
        governor.cancel(pid)
        assert governor.state(pid) == CANCELED
        with boa.reverts("governor: proposal not cancelable"):
            governor.cancel(pid)


def test_council_pause__member_above_one_percent__pauses_new_risk(system, gov, trader):
    governor, target = gov
    delegate_votes(system, trader, SUPPLY // 100 + 1)
    mine()
    assert governor.is_council(trader)
    with boa.env.prank(trader):
        governor.council_pause()
    assert target.new_risk_paused()


def test_council_pause__exactly_one_percent__reverts(system, gov, trader):
    governor, target = gov
    delegate_votes(system, trader, SUPPLY // 100)
    mine()
    with boa.env.prank(trader), boa.reverts("governor: caller is not on the council"):
        governor.council_pause()
    assert not target.new_risk_paused()


def test_council_pause__votes_bought_this_block__reverts(system, gov, trader):
    governor, _ = gov
    delegate_votes(system, trader, 5_000_000 * JEX)
    with boa.env.prank(trader), boa.reverts("governor: caller is not on the council"):
        governor.council_pause()


def test_admin__after_lock__cannot_change_whitelist(gov, deployer, stranger):
    governor, target = gov
    assert governor.admin() == "0x" + "00" * 20
    with boa.env.prank(deployer):
        with boa.reverts("governor: caller is not the admin"):
            governor.set_whitelisted(target.address, selector("sweep(address)"), True)
        with boa.reverts("governor: caller is not the admin"):
            governor.set_pause_target(target.address, selector("sweep(address)"))
        with boa.reverts("governor: caller is not the admin"):
            governor.lock_whitelist()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0, 10, QUORUM, TIMELOCK), "governor: voting delay out of bounds"),
        ((1, 4, QUORUM, TIMELOCK), "governor: voting period out of bounds"),
        ((1, 10, 10**16 - 1, TIMELOCK), "governor: quorum out of bounds"),
        ((1, 10, 2 * 10**17 + 1, TIMELOCK), "governor: quorum out of bounds"),
        ((1, 10, QUORUM, 3599), "governor: timelock out of bounds"),
    ],
)
def test_init__parameter_out_of_bounds__reverts(system, args, message):
    with boa.reverts(message):
        contract("Governor").deploy(system.jex.address, *args)
