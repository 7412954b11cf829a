# pragma version ~=0.4.3
"""
@title MockUSDC
@notice 6-decimal test collateral for local chains only. Anyone may mint.
"""

from ethereum.ercs import IERC20
from snekmate.tokens import erc20
from snekmate.auth import ownable

implements: IERC20

# ownable is required by snekmate's erc20 module
initializes: ownable
# the token itself: balances, allowances, permit
initializes: erc20[ownable := ownable]

exports: (
    erc20.IERC20,
    erc20.decimals,
    erc20.name,
    erc20.symbol,
)


@deploy
def __init__():
    ownable.__init__()
    erc20.__init__("Mock USD Coin", "USDC", 6, "Mock USD Coin", "1")


@external
def mint(to: address, amount: uint256):
    """
    @notice Mint test tokens to any address (local chains only).
    @param to Receiver of the tokens.
    @param amount Amount in token units (6 decimals).
    """
    erc20._mint(to, amount)
