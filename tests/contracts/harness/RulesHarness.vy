# pragma version ~=0.4.3
"""
@title RulesHarness
@notice Test-only: exposes contracts/modules/rules.vy so the parity vectors
        can drive the exact code the Exchange runs.
"""

from modules import rules


@external
@pure
def trade_cash(size: uint256, price: uint256) -> (uint256, uint256):
    """
    @notice rules._trade_cash.
    @param size WAD base.
    @param price WAD quote per base.
    @return buyer pays, seller receives (WAD quote).
    """
    return rules._trade_cash(size, price)


@external
@pure
def fee(size: uint256, price: uint256, rate: uint256) -> uint256:
    """
    @notice rules._fee_amount (== fee_cap with rate = maxFeeRate).
    @param size WAD base.
    @param price WAD quote per base.
    @param rate WAD fraction.
    @return Fee in WAD quote.
    """
    return rules._fee_amount(size, price, rate)


@external
@pure
def position_value(size: int256, mark: uint256) -> int256:
    """
    @notice rules._position_value.
    @param size Signed WAD base.
    @param mark WAD quote per base.
    @return Value in WAD quote.
    """
    return rules._position_value(size, mark)


@external
@pure
def funding_owed(size: int256, index_now: int256, index_last: int256) -> int256:
    """
    @notice rules._funding_owed.
    @param size Signed WAD base.
    @param index_now Funding index now.
    @param index_last Funding index at the last settlement.
    @return Owed in WAD quote (positive: pays).
    """
    return rules._funding_owed(size, index_now, index_last)


@external
@pure
def funding_index_step(rate: int256, mark: uint256) -> int256:
    """
    @notice rules._funding_index_step.
    @param rate Signed WAD fraction.
    @param mark WAD quote per base.
    @return Index increment.
    """
    return rules._funding_index_step(rate, mark)


@external
@pure
def margin_requirement(size: int256, mark: uint256, fraction: uint256) -> uint256:
    """
    @notice rules._margin_requirement.
    @param size Signed WAD base.
    @param mark WAD quote per base.
    @param fraction WAD fraction (IMF or MMF).
    @return Requirement in WAD quote.
    """
    return rules._margin_requirement(size, mark, fraction)


@external
@pure
def bankruptcy_price(size: int256, mark: uint256, equity: int256) -> uint256:
    """
    @notice rules._bankruptcy_price.
    @param size Signed WAD base, non-zero.
    @param mark WAD quote per base.
    @param equity WAD quote.
    @return WAD quote per base.
    """
    return rules._bankruptcy_price(size, mark, equity)


@external
@pure
def liquidation_fee(size: uint256, price: uint256, rate: uint256, equity_after: int256) -> uint256:
    """
    @notice rules._liquidation_fee.
    @param size WAD base.
    @param price WAD quote per base.
    @param rate WAD fraction.
    @param equity_after WAD quote.
    @return Fee in WAD quote.
    """
    return rules._liquidation_fee(size, price, rate, equity_after)


struct PositionMark:
    size: int256  # WAD base
    mark: uint256  # WAD quote per base
    index_now: int256
    index_last: int256


@external
@pure
def equity(cash: int256, positions: DynArray[PositionMark, 16]) -> int256:
    """
    @notice cash + sum(position value - funding owed), as Exchange._risk sums it.
    @param cash WAD quote.
    @param positions Open positions with their marks and indices.
    @return Equity in WAD quote.
    """
    total: int256 = cash
    for p: PositionMark in positions:
        total += rules._position_value(p.size, p.mark) - rules._funding_owed(p.size, p.index_now, p.index_last)
    return total
