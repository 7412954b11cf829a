# pragma version ~=0.4.3
"""
@title JexToken
@notice The perpx platform token JEX: ERC-20 with burn, EIP-2612 permit and
        vote checkpoints (ERC-5805 style: delegate, getVotes, getPastVotes,
        getPastTotalSupply, clock = block number).
@dev The whole supply is minted once, at deploy, to the treasury; nothing can
     mint afterwards (snekmate's `mint` and `set_minter` are not exported).
     Votes follow OpenZeppelin's ERC20Votes: a balance counts as votes only
     once its holder delegates (to itself or to someone else). The transfer,
     transferFrom, burn and burn_from entry points are written here, around
     snekmate's internal functions, so that every balance change also moves
     voting power and the total-supply checkpoint.
"""

from ethereum.ercs import IERC20
from snekmate.tokens import erc20
from snekmate.auth import ownable
from .modules import jex_checkpoints

implements: IERC20

# required by snekmate's erc20; its owner has no exported powers here
initializes: ownable
# balances, allowances, permit and the EIP-712 domain
initializes: erc20[ownable := ownable]
# vote and total-supply histories
initializes: jex_checkpoints

exports: (
    # ERC-20 reads and approvals; transfers are wrapped below
    erc20.approve,
    erc20.balanceOf,
    erc20.allowance,
    erc20.totalSupply,
    erc20.name,
    erc20.symbol,
    erc20.decimals,
    # EIP-2612 permit and EIP-5267 domain
    erc20.permit,
    erc20.nonces,
    erc20.DOMAIN_SEPARATOR,
    erc20.eip712Domain,
)


event DelegateChanged:
    delegator: indexed(address)
    from_delegate: indexed(address)
    to_delegate: indexed(address)


event DelegateVotesChanged:
    delegate: indexed(address)
    previous_votes: uint256
    new_votes: uint256


# account -> the address its balance votes through (empty = not delegated)
delegates: public(HashMap[address, address])
# every JEX ever destroyed, in JEX wei
total_burned: public(uint256)


@deploy
def __init__(treasury: address, initial_supply: uint256):
    """
    @notice Deploy JEX and mint the fixed supply to `treasury`.
    @param treasury Receiver of the whole supply.
    @param initial_supply Supply in JEX wei (18 decimals).
    """
    assert treasury != empty(address), "jex: treasury is the zero address"
    assert initial_supply > 0, "jex: zero supply"
    ownable.__init__()
    erc20.__init__("JEX", "JEX", 18, "JEX", "1")
    jex_checkpoints.__init__()
    erc20._mint(treasury, initial_supply)
    jex_checkpoints._push(jex_checkpoints.TOTAL_KEY, initial_supply)


@external
def transfer(to: address, amount: uint256) -> bool:
    """
    @notice Move `amount` JEX from the caller to `to`, with its votes.
    @param to Receiver.
    @param amount Amount in JEX wei.
    @return bool True (reverts on failure).
    """
    erc20._transfer(msg.sender, to, amount)
    self._move_votes(self.delegates[msg.sender], self.delegates[to], amount)
    return True


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    """
    @notice Move `amount` JEX from `owner` to `to` using the caller's allowance.
    @param owner Holder of the tokens.
    @param to Receiver.
    @param amount Amount in JEX wei.
    @return bool True (reverts on failure).
    """
    erc20._spend_allowance(owner, msg.sender, amount)
    erc20._transfer(owner, to, amount)
    self._move_votes(self.delegates[owner], self.delegates[to], amount)
    return True


@external
def burn(amount: uint256):
    """
    @notice Destroy `amount` of the caller's JEX; total supply falls by it.
    @param amount Amount in JEX wei.
    """
    self._burn(msg.sender, amount)


@external
def burn_from(owner: address, amount: uint256):
    """
    @notice Destroy `amount` of `owner`'s JEX using the caller's allowance.
    @param owner Holder of the tokens.
    @param amount Amount in JEX wei.
    """
    erc20._spend_allowance(owner, msg.sender, amount)
    self._burn(owner, amount)


@external
def delegate(delegatee: address):
    """
    @notice Let `delegatee` vote with the caller's whole balance (the caller
            itself to vote directly; the zero address to stop voting).
    @param delegatee The address that receives the caller's votes.
    """
    previous: address = self.delegates[msg.sender]
    self.delegates[msg.sender] = delegatee
    log DelegateChanged(delegator=msg.sender, from_delegate=previous, to_delegate=delegatee)
    self._move_votes(previous, delegatee, erc20.balanceOf[msg.sender])


@external
@view
def getVotes(account: address) -> uint256:
    """
    @notice Current votes of `account` (delegated to it, in JEX wei).
    @param account The delegate.
    @return uint256 Votes now.
    """
    return jex_checkpoints._latest(account)


@external
@view
def getPastVotes(account: address, timepoint: uint256) -> uint256:
    """
    @notice Votes of `account` at the end of block `timepoint`.
    @param account The delegate.
    @param timepoint A block number strictly before the current one.
    @return uint256 Votes then, in JEX wei.
    """
    assert timepoint < block.number, "jex: future lookup"
    return jex_checkpoints._value_at(account, timepoint)


@external
@view
def getPastTotalSupply(timepoint: uint256) -> uint256:
    """
    @notice Total supply at the end of block `timepoint`.
    @param timepoint A block number strictly before the current one.
    @return uint256 Supply then, in JEX wei.
    """
    assert timepoint < block.number, "jex: future lookup"
    return jex_checkpoints._value_at(jex_checkpoints.TOTAL_KEY, timepoint)


@external
@view
def numCheckpoints(account: address) -> uint256:
    """
    @notice Number of vote checkpoints of `account`.
    @param account The delegate.
    @return uint256 Count.
    """
    return jex_checkpoints._count(account)


@external
@view
def checkpoints(account: address, pos: uint256) -> jex_checkpoints.Checkpoint:
    """
    @notice The `pos`-th vote checkpoint of `account` (0 = oldest).
    @param account The delegate.
    @param pos Position.
    @return Checkpoint (from_block, value).
    """
    return jex_checkpoints._checkpoint(account, pos)


@external
@view
def clock() -> uint48:
    """
    @notice ERC-6372 clock: votes are checkpointed by block number.
    @return uint48 The current block number.
    """
    return convert(block.number, uint48)


@external
@view
def CLOCK_MODE() -> String[64]:
    """
    @notice ERC-6372 clock description.
    @return String The clock mode.
    """
    return "mode=blocknumber&from=default"


@internal
def _burn(owner: address, amount: uint256):
    erc20._burn(owner, amount)
    jex_checkpoints._sub(jex_checkpoints.TOTAL_KEY, amount)
    self.total_burned += amount
    self._move_votes(self.delegates[owner], empty(address), amount)


@internal
def _move_votes(src: address, dst: address, amount: uint256):
    # the zero address never holds votes: moving from or to it is a mint,
    # a burn, or an undelegated balance
    if src == dst or amount == 0:
        return
    if src != empty(address):
        before: uint256 = jex_checkpoints._latest(src)
        after: uint256 = jex_checkpoints._sub(src, amount)
        log DelegateVotesChanged(delegate=src, previous_votes=before, new_votes=after)
    if dst != empty(address):
        before: uint256 = jex_checkpoints._latest(dst)
        after: uint256 = jex_checkpoints._add(dst, amount)
        log DelegateVotesChanged(delegate=dst, previous_votes=before, new_votes=after)
