# pragma version ~=0.4.3
"""
@title rules
@notice The money formulas of perpx: the on-chain twin of engine/core/rules.py.
@dev Pure functions only (no state), so a contract imports this module without
     `initializes:`. Every quantity is a WAD (10**18) integer. Vyper's `//`
     truncates toward zero, so signed rounding goes through `_floor_div` and
     `_ceil_div`. Rounding always favours the exchange: what a trader pays rounds
     up, what a trader receives rounds down, requirements round up, equity rounds
     down. tests/vectors/parity.json pins these functions to the Python twins.
"""

WAD: constant(uint256) = 10**18
IWAD: constant(int256) = 10**18


@internal
@pure
def _floor_div(n: int256, d: int256) -> int256:
    """
    @dev n / d rounded toward -infinity; d > 0.
    """
    q: int256 = n // d
    if n % d != 0 and n < 0:
        q -= 1
    return q


@internal
@pure
def _ceil_div(n: int256, d: int256) -> int256:
    """
    @dev n / d rounded toward +infinity; d > 0.
    """
    q: int256 = n // d
    if n % d != 0 and n > 0:
        q += 1
    return q


@internal
@pure
def _mul_div(x: uint256, y: uint256, d: uint256, roundup: bool) -> uint256:
    """
    @dev x * y / d rounded down, or up when `roundup`; d > 0.
    """
    p: uint256 = x * y
    q: uint256 = p // d
    if roundup and p % d != 0:
        q += 1
    return q


@internal
@pure
def _trade_cash(size: uint256, price: uint256) -> (uint256, uint256):
    """
    @dev Cash legs of a fill: (buyer pays, seller receives) in WAD quote.
         The buyer's leg rounds up, the seller's down; the 0-or-1 wei
         difference is dust for the insurance balance.
    """
    return self._mul_div(size, price, WAD, True), self._mul_div(size, price, WAD, False)


@internal
@pure
def _fee_amount(size: uint256, price: uint256, rate: uint256) -> uint256:
    """
    @dev rate x notional, notional = floor(size x price), the fee rounded up.
         With rate = an order's maxFeeRate this is rules.fee_cap.
    """
    return self._mul_div(self._mul_div(size, price, WAD, False), rate, WAD, True)


@internal
@pure
def _fee_on_notional(notional: uint256, rate: uint256) -> uint256:
    """
    @dev rate x notional (already floor(size x price)), rounded up: the same
         value as `_fee_amount` when the caller has the notional at hand.
    """
    return self._mul_div(notional, rate, WAD, True)


@internal
@pure
def _position_value(size: int256, mark: uint256) -> int256:
    """
    @dev Signed value of a position at mark, rounded toward -infinity.
    """
    return self._floor_div(size * convert(mark, int256), IWAD)


@internal
@pure
def _funding_owed(size: int256, index_now: int256, index_last: int256) -> int256:
    """
    @dev Funding owed since the last settlement, rounded toward +infinity
         (positive: the position pays). The dust stays in the funding pool.
    """
    return self._ceil_div(size * (index_now - index_last), IWAD)


@internal
@pure
def _funding_index_step(rate: int256, mark: uint256) -> int256:
    """
    @dev rate x mark, truncated toward zero (rules.funding_index_step).
    """
    # Vyper's signed `//` truncates toward zero, which is what is asked here.
    return rate * convert(mark, int256) // IWAD


@internal
@pure
def _margin_requirement(size: int256, mark: uint256, fraction: uint256) -> uint256:
    """
    @dev |size| x mark x fraction, each step rounded up.
    """
    return self._mul_div(self._mul_div(convert(abs(size), uint256), mark, WAD, True), fraction, WAD, True)


@internal
@pure
def _bankruptcy_price(size: int256, mark: uint256, equity: int256) -> uint256:
    """
    @dev Price at which closing the whole position leaves equity at zero.
         Long: mark - equity / size rounded up; short: mark + equity / |size|
         rounded down; never below zero. size != 0.
    """
    m: int256 = convert(mark, int256)
    num: int256 = 0
    if size > 0:
        num = m * size - equity * IWAD
        if num <= 0:
            return 0
        return convert(self._ceil_div(num, size), uint256)
    num = m * (-size) + equity * IWAD
    if num <= 0:
        return 0
    return convert(self._floor_div(num, -size), uint256)


@internal
@pure
def _liquidation_fee(size: uint256, price: uint256, rate: uint256, equity_after: int256) -> uint256:
    """
    @dev rate x notional rounded up, capped at the equity after the
         liquidation fill, never below zero.
    """
    fee: uint256 = self._fee_amount(size, price, rate)
    if equity_after <= 0:
        return 0
    return min(fee, convert(equity_after, uint256))
