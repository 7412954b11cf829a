"""JexToken: fixed supply, transfers with votes, burn, permit, vote checkpoints."""

from __future__ import annotations

import boa
from eth_account import Account

from tests.contracts.jex_fixtures import *  # noqa: F403
from tests.contracts.jex_fixtures import JEX, SUPPLY, contract, mine


def test_init__fixed_supply__minted_to_treasury(system, treasury):
    jex = system.jex
    assert jex.totalSupply() == SUPPLY
    assert jex.balanceOf(treasury) == SUPPLY
    assert (jex.name(), jex.symbol(), jex.decimals()) == ("JEX", "JEX", 18)
    assert jex.CLOCK_MODE() == "mode=blocknumber&from=default"
    assert jex.clock() == boa.env.evm.patch.block_number


def test_init__zero_treasury__reverts():
    with boa.reverts("jex: treasury is the zero address"):
        contract("JexToken").deploy("0x" + "00" * 20, SUPPLY)


def test_init__zero_supply__reverts(treasury):
    with boa.reverts("jex: zero supply"):
        contract("JexToken").deploy(treasury, 0)


def test_mint__any_caller__not_exposed(system):
    assert not hasattr(system.jex, "mint")
    assert not hasattr(system.jex, "set_minter")


def test_delegate__self__votes_equal_balance_from_next_block(system, treasury):
    jex = system.jex
    with boa.env.prank(treasury):
        jex.transfer(treasury, 0)
    assert jex.getVotes(treasury) == 0
    before = boa.env.evm.patch.block_number
    with boa.env.prank(treasury):
        jex.delegate(treasury)
    assert jex.getVotes(treasury) == SUPPLY
    mine()
    assert jex.getPastVotes(treasury, before) == SUPPLY  # delegated in `before`
    assert jex.getPastVotes(treasury, before - 1) == 0
    assert jex.delegates(treasury) == treasury


def test_transfer__between_delegates__moves_votes(system, treasury, trader, stranger):
    jex = system.jex
    with boa.env.prank(treasury):
        jex.delegate(treasury)
    with boa.env.prank(trader):
        jex.delegate(stranger)
    with boa.env.prank(treasury):
        jex.transfer(trader, 25_000 * JEX)
    assert jex.balanceOf(trader) == 25_000 * JEX
    assert jex.getVotes(stranger) == 25_000 * JEX
    assert jex.getVotes(treasury) == SUPPLY - 25_000 * JEX
    assert jex.getVotes(trader) == 0


def test_transfer__undelegated_receiver__gains_no_votes(system, treasury, trader):
    jex = system.jex
    with boa.env.prank(treasury):
        jex.delegate(treasury)
        jex.transfer(trader, 1_000 * JEX)
    assert jex.getVotes(trader) == 0
    assert jex.getVotes(treasury) == SUPPLY - 1_000 * JEX


def test_transfer__above_balance__reverts(system, trader, stranger):
    with boa.env.prank(trader), boa.reverts("erc20: transfer amount exceeds balance"):
        system.jex.transfer(stranger, 1)


def test_transfer_from__allowance__moves_tokens_and_votes(system, treasury, trader, stranger):
    jex = system.jex
    with boa.env.prank(treasury):
        jex.delegate(treasury)
        jex.approve(trader, 500 * JEX)
    with boa.env.prank(stranger):
        jex.delegate(stranger)
    with boa.env.prank(trader):
        jex.transferFrom(treasury, stranger, 200 * JEX)
        with boa.reverts("erc20: insufficient allowance"):
            jex.transferFrom(treasury, stranger, 301 * JEX)
    assert jex.allowance(treasury, trader) == 300 * JEX
    assert jex.getVotes(stranger) == 200 * JEX


def test_burn__holder__supply_votes_and_past_supply_fall(system, treasury):
    jex = system.jex
    with boa.env.prank(treasury):
        jex.delegate(treasury)
    mine()
    block_before = boa.env.evm.patch.block_number
    with boa.env.prank(treasury):
        jex.burn(1_234 * JEX)
    mine()
    assert jex.totalSupply() == SUPPLY - 1_234 * JEX
    assert jex.total_burned() == 1_234 * JEX
    assert jex.getVotes(treasury) == SUPPLY - 1_234 * JEX
    assert jex.getPastTotalSupply(block_before) == SUPPLY - 1_234 * JEX
    assert jex.getPastTotalSupply(block_before - 1) == SUPPLY


def test_burn__above_balance__reverts(system, trader):
    with boa.env.prank(trader), boa.reverts("erc20: burn amount exceeds balance"):
        system.jex.burn(1)


def test_burn_from__without_allowance__reverts(system, treasury, stranger):
    with boa.env.prank(stranger), boa.reverts("erc20: insufficient allowance"):
        system.jex.burn_from(treasury, 1)


def test_burn_from__with_allowance__burns_owner_tokens(system, treasury, stranger):
    jex = system.jex
    with boa.env.prank(treasury):
        jex.approve(stranger, 10 * JEX)
    with boa.env.prank(stranger):
        jex.burn_from(treasury, 10 * JEX)
    assert jex.balanceOf(treasury) == SUPPLY - 10 * JEX
    assert jex.totalSupply() == SUPPLY - 10 * JEX


def test_get_past_votes__current_block__reverts(system, treasury):
    now = boa.env.evm.patch.block_number
    with boa.reverts("jex: future lookup"):
        system.jex.getPastVotes(treasury, now)
    with boa.reverts("jex: future lookup"):
        system.jex.getPastTotalSupply(now)


def test_get_past_votes__many_checkpoints__binary_search_matches_history(system, treasury, trader):
    jex = system.jex
    with boa.env.prank(trader):
        jex.delegate(trader)
    history = {}
    for i in range(1, 21):
        with boa.env.prank(treasury):
            jex.transfer(trader, i * JEX)
            if i % 3 == 0:  # two writes in one block: one checkpoint
                jex.transfer(trader, JEX)
        history[boa.env.evm.patch.block_number] = jex.getVotes(trader)
        mine(i % 4 + 1)
    assert jex.numCheckpoints(trader) == 20
    blocks = sorted(history)
    mine(3)
    for block in range(max(0, blocks[0] - 2), blocks[-1] + 3):
        expected = max((history[b] for b in blocks if b <= block), default=0)
        assert jex.getPastVotes(trader, block) == expected
    first = jex.checkpoints(trader, 0)
    assert (first[0], first[1]) == (blocks[0], 1 * JEX)
    with boa.reverts("checkpoints: position out of range"):
        jex.checkpoints(trader, 20)


def _permit_signature(jex, owner, spender: str, value: int, nonce: int, deadline: int):
    domain = {
        "name": "JEX", "version": "1", "chainId": boa.env.evm.patch.chain_id,
        "verifyingContract": jex.address,
    }
    types = {"Permit": [
        {"name": "owner", "type": "address"}, {"name": "spender", "type": "address"},
        {"name": "value", "type": "uint256"}, {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]}
    message = {"owner": owner.address, "spender": spender, "value": value, "nonce": nonce,
               "deadline": deadline}
    signed = Account.sign_typed_data(owner.key, domain, types, message)
    return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")


def test_permit__valid_signature__sets_allowance_once(system, stranger):
    owner = Account.from_key(b"\x11" * 32)
    deadline = boa.env.evm.patch.timestamp + 3600
    v, r, s = _permit_signature(system.jex, owner, stranger, 77 * JEX, 0, deadline)
    system.jex.permit(owner.address, stranger, 77 * JEX, deadline, v, r, s)
    assert system.jex.allowance(owner.address, stranger) == 77 * JEX
    assert system.jex.nonces(owner.address) == 1
    with boa.reverts("erc20: invalid signature"):
        system.jex.permit(owner.address, stranger, 77 * JEX, deadline, v, r, s)


def test_permit__past_deadline__reverts(system, stranger):
    owner = Account.from_key(b"\x22" * 32)
    deadline = boa.env.evm.patch.timestamp - 1
    v, r, s = _permit_signature(system.jex, owner, stranger, 1, 0, deadline)
    with boa.reverts("erc20: expired deadline"):
        system.jex.permit(owner.address, stranger, 1, deadline, v, r, s)
