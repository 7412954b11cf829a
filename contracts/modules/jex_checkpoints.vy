# pragma version ~=0.4.3
"""
@title jex_checkpoints
@notice Per-key histories of a uint256 value, checkpointed by block number,
        with a binary-search lookup of the value as of any past block.
@dev Follows the semantics of OpenZeppelin's Checkpoints.Trace208 as used by
     ERC20Votes: at most one checkpoint per key and block (a second write in
     the same block overwrites the first), and a lookup returns the value at
     the END of the asked block. Lookups of the current or a future block are
     refused by the callers, so a value written in block N is only observable
     from block N+1 on: flash-loaned balances weigh nothing.
     Keys are addresses; the host contract uses `TOTAL_KEY` (the zero address,
     which never holds votes or stake) for its total.
"""

# the key under which host contracts keep the running total
TOTAL_KEY: constant(address) = empty(address)
# a binary search over at most 2**128 checkpoints ends within 128 halvings
_MAX_SEARCH: constant(uint256) = 128


struct Checkpoint:
    from_block: uint256
    value: uint256


# key -> position -> checkpoint, and key -> number of checkpoints
_checkpoints: HashMap[address, HashMap[uint256, Checkpoint]]
_counts: HashMap[address, uint256]


@deploy
def __init__():
    pass


@internal
@view
def _count(key: address) -> uint256:
    """
    @notice Number of checkpoints kept for `key`.
    """
    return self._counts[key]


@internal
@view
def _checkpoint(key: address, pos: uint256) -> Checkpoint:
    """
    @notice The checkpoint of `key` at position `pos` (0 = oldest).
    """
    assert pos < self._counts[key], "checkpoints: position out of range"
    return self._checkpoints[key][pos]


@internal
@view
def _latest(key: address) -> uint256:
    """
    @notice The current value of `key` (0 if it never had one).
    """
    n: uint256 = self._counts[key]
    if n == 0:
        return 0
    # n >= 1 here, so n - 1 cannot underflow
    return self._checkpoints[key][unsafe_sub(n, 1)].value


@internal
def _push(key: address, new_value: uint256):
    """
    @notice Record `new_value` as the value of `key` from the current block on.
    """
    n: uint256 = self._counts[key]
    if n > 0:
        # n >= 1, so n - 1 cannot underflow
        last: uint256 = unsafe_sub(n, 1)
        if self._checkpoints[key][last].from_block == block.number:
            self._checkpoints[key][last].value = new_value
            return
    self._checkpoints[key][n] = Checkpoint(from_block=block.number, value=new_value)
    self._counts[key] = n + 1


@internal
def _add(key: address, delta: uint256) -> uint256:
    """
    @notice Increase the value of `key` by `delta`; returns the new value.
    """
    new_value: uint256 = self._latest(key) + delta
    self._push(key, new_value)
    return new_value


@internal
def _sub(key: address, delta: uint256) -> uint256:
    """
    @notice Decrease the value of `key` by `delta`; returns the new value.
    @dev Reverts on underflow: a host never subtracts more than it added.
    """
    new_value: uint256 = self._latest(key) - delta
    self._push(key, new_value)
    return new_value


@internal
@view
def _value_at(key: address, block_number: uint256) -> uint256:
    """
    @notice The value of `key` at the end of block `block_number`.
    @dev Checks the newest checkpoint first (the usual case: a lookup of a
         recent block), then binary-searches for the last checkpoint whose
         from_block <= block_number.
    """
    n: uint256 = self._counts[key]
    if n == 0:
        return 0
    # n >= 1, so n - 1 cannot underflow
    newest: Checkpoint = self._checkpoints[key][unsafe_sub(n, 1)]
    if newest.from_block <= block_number:
        return newest.value
    if self._checkpoints[key][0].from_block > block_number:
        return 0
    # invariant: checkpoint[low].from_block <= block_number < checkpoint[high].from_block
    low: uint256 = 0
    high: uint256 = unsafe_sub(n, 1)
    for _: uint256 in range(_MAX_SEARCH):
        if unsafe_add(low, 1) >= high:
            break
        # low < high <= 2**256 - 1, their average cannot overflow when halved first
        mid: uint256 = unsafe_add(low, unsafe_div(unsafe_sub(high, low), 2))
        if self._checkpoints[key][mid].from_block <= block_number:
            low = mid
        else:
            high = mid
    return self._checkpoints[key][low].value
