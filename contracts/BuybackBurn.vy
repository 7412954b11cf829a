# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title BuybackBurn
@notice Receives the buyback share of net revenue (USDC) and, once per
        7-day epoch, sells all of it for JEX in a Dutch auction; every JEX
        received is burned.
@dev Prices are JEX per USDC, WAD: what a bidder pays for one whole USDC.
     The auction starts at reference x start_multiplier and falls linearly
     to reference x end_multiplier over auction_duration, then ends; unsold
     USDC rolls into the next epoch's lot. The reference is the last fill
     price, or, if an auction sold nothing, its end price, so the start
     follows the market on its own. Anyone may start the epoch's auction and
     anyone may fill any part of it.
"""

from ethereum.ercs import IERC20
from ethereum.ercs import IERC20Detailed
from snekmate.auth import ownable

# owner = governance: auction shape, one-time FeeRouter wiring
initializes: ownable

exports: (
    ownable.owner,
    ownable.transfer_ownership,
)


interface IBurnable:
    def burn(amount: uint256): nonpayable


WAD: constant(uint256) = 10**18
EPOCH_LENGTH: constant(uint256) = 7 * 86400
MIN_DURATION: constant(uint256) = 3600
MAX_DURATION: constant(uint256) = 6 * 86400
MIN_START_MULTIPLIER: constant(uint256) = 11 * 10**17
MAX_START_MULTIPLIER: constant(uint256) = 10 * 10**18
MIN_END_MULTIPLIER: constant(uint256) = 10**17
MAX_END_MULTIPLIER: constant(uint256) = 95 * 10**16


struct Auction:
    start_time: uint256
    end_time: uint256
    start_price: uint256
    end_price: uint256
    lot: uint256
    remaining: uint256
    last_price: uint256


event Funded:
    batch_id: indexed(uint256)
    amount: uint256


event AuctionStarted:
    auction_id: indexed(uint256)
    epoch: uint256
    start_time: uint256
    end_time: uint256
    start_price: uint256
    end_price: uint256
    lot: uint256


event AuctionFilled:
    auction_id: indexed(uint256)
    buyer: indexed(address)
    price: uint256
    usdc_amount: uint256
    jex_amount: uint256
    remaining: uint256


event JexBurned:
    auction_id: indexed(uint256)
    amount: uint256
    total_burned: uint256


event UpdateAuctionDuration:
    auction_duration: uint256


event UpdateMultipliers:
    start_multiplier: uint256
    end_multiplier: uint256


event UpdateFeeRouter:
    fee_router: address


usdc: public(immutable(IERC20))
jex: public(immutable(IERC20))
_USDC_TO_WAD: immutable(uint256)

fee_router: public(address)
auction_duration: public(uint256)
start_multiplier: public(uint256)
end_multiplier: public(uint256)
reference_price: public(uint256)

auction_count: public(uint256)
auctions: public(HashMap[uint256, Auction])
last_auction_epoch: public(uint256)
total_funded: public(uint256)
total_usdc_sold: public(uint256)
total_jex_burned: public(uint256)


@deploy
def __init__(usdc_: IERC20, jex_: IERC20, reference_price_: uint256):
    """
    @notice Deploy the buyback: 1-day auctions from 2x down to 0.5x the reference.
    @param usdc_ The token sold (the exchange's collateral).
    @param jex_ The JEX token, burned on receipt.
    @param reference_price_ Initial reference, JEX per USDC, WAD.
    """
    assert reference_price_ > 0, "buyback: zero reference price"
    ownable.__init__()
    usdc = usdc_
    jex = jex_
    decimals: uint8 = staticcall IERC20Detailed(usdc_.address).decimals()
    assert decimals <= 18, "buyback: token decimals above 18"
    _USDC_TO_WAD = 10 ** convert(18 - decimals, uint256)
    self.reference_price = reference_price_
    self.auction_duration = 86400
    self.start_multiplier = 2 * WAD
    self.end_multiplier = WAD // 2


@external
def set_fee_router(fee_router_: address):
    """
    @notice Wire the FeeRouter, the only funder, once.
    @param fee_router_ The FeeRouter contract.
    """
    ownable._check_owner()
    assert self.fee_router == empty(address), "buyback: fee router already set"
    assert fee_router_ != empty(address), "buyback: zero address"
    self.fee_router = fee_router_
    log UpdateFeeRouter(fee_router=fee_router_)


@external
def set_auction_duration(duration: uint256):
    """
    @notice Set how long an auction's price falls (governance), 1 h to 6 days.
    @param duration Seconds.
    """
    ownable._check_owner()
    assert duration >= MIN_DURATION and duration <= MAX_DURATION, "buyback: duration out of bounds"
    self.auction_duration = duration
    log UpdateAuctionDuration(auction_duration=duration)


@external
def set_multipliers(start_multiplier_: uint256, end_multiplier_: uint256):
    """
    @notice Set the start and end price as multiples of the reference
            (governance): start 1.1x to 10x, end 0.1x to 0.95x.
    @param start_multiplier_ WAD.
    @param end_multiplier_ WAD.
    """
    ownable._check_owner()
    assert start_multiplier_ >= MIN_START_MULTIPLIER and start_multiplier_ <= MAX_START_MULTIPLIER, "buyback: start multiplier out of bounds"
    assert end_multiplier_ >= MIN_END_MULTIPLIER and end_multiplier_ <= MAX_END_MULTIPLIER, "buyback: end multiplier out of bounds"
    self.start_multiplier = start_multiplier_
    self.end_multiplier = end_multiplier_
    log UpdateMultipliers(start_multiplier=start_multiplier_, end_multiplier=end_multiplier_)


@external
def fund(batch_id: uint256, amount: uint256):
    """
    @notice Take the buyback share of a batch's net revenue from the FeeRouter.
    @param batch_id The settlement batch the fees came from.
    @param amount USDC token units.
    """
    assert msg.sender == self.fee_router, "buyback: caller is not the fee router"
    assert amount > 0, "buyback: zero amount"
    self.total_funded += amount
    assert extcall usdc.transferFrom(msg.sender, self, amount, default_return_value=True)
    log Funded(batch_id=batch_id, amount=amount)


@external
def start_auction() -> uint256:
    """
    @notice Start this epoch's auction of all USDC held; anyone may call.
    @return uint256 The new auction's id (1, 2, ...).
    """
    epoch: uint256 = block.timestamp // EPOCH_LENGTH
    assert epoch > self.last_auction_epoch, "buyback: auction already held this epoch"
    auction_id: uint256 = self.auction_count
    if auction_id > 0:
        prev: Auction = self.auctions[auction_id]
        assert block.timestamp >= prev.end_time or prev.remaining == 0, "buyback: auction running"
        # follow the market: the last price paid, else where the last auction ended unfilled
        if prev.last_price > 0:
            self.reference_price = prev.last_price
        else:
            self.reference_price = prev.end_price
    lot: uint256 = staticcall usdc.balanceOf(self)
    assert lot > 0, "buyback: nothing to sell"
    ref: uint256 = self.reference_price
    a: Auction = Auction(
        start_time=block.timestamp,
        end_time=block.timestamp + self.auction_duration,
        # rounds up: the protocol never starts or ends cheaper than asked
        start_price=(ref * self.start_multiplier + WAD - 1) // WAD,
        end_price=(ref * self.end_multiplier + WAD - 1) // WAD,
        lot=lot,
        remaining=lot,
        last_price=0,
    )
    auction_id += 1
    self.auction_count = auction_id
    self.auctions[auction_id] = a
    self.last_auction_epoch = epoch
    log AuctionStarted(
        auction_id=auction_id, epoch=epoch, start_time=a.start_time, end_time=a.end_time,
        start_price=a.start_price, end_price=a.end_price, lot=lot,
    )
    return auction_id


@external
def fill(usdc_amount: uint256, max_price: uint256) -> uint256:
    """
    @notice Buy `usdc_amount` of the running auction's USDC at the current
            price, paying JEX (pulled with transferFrom), which is burned.
    @param usdc_amount USDC token units to buy.
    @param max_price The most JEX per USDC (WAD) the caller accepts.
    @return uint256 JEX wei paid and burned.
    """
    auction_id: uint256 = self.auction_count
    a: Auction = self.auctions[auction_id]
    assert auction_id > 0 and block.timestamp < a.end_time, "buyback: no running auction"
    assert usdc_amount > 0, "buyback: zero amount"
    assert usdc_amount <= a.remaining, "buyback: amount exceeds lot"
    price: uint256 = self._price(a)
    assert price <= max_price, "buyback: price above limit"
    # rounds up: the bidder pays at least the price for every USDC unit
    jex_amount: uint256 = (usdc_amount * _USDC_TO_WAD * price + WAD - 1) // WAD
    remaining: uint256 = a.remaining - usdc_amount
    self.auctions[auction_id].remaining = remaining
    self.auctions[auction_id].last_price = price
    self.total_usdc_sold += usdc_amount
    total_burned: uint256 = self.total_jex_burned + jex_amount
    self.total_jex_burned = total_burned
    assert extcall jex.transferFrom(msg.sender, self, jex_amount, default_return_value=True)
    extcall IBurnable(jex.address).burn(jex_amount)
    assert extcall usdc.transfer(msg.sender, usdc_amount, default_return_value=True)
    log AuctionFilled(
        auction_id=auction_id, buyer=msg.sender, price=price, usdc_amount=usdc_amount,
        jex_amount=jex_amount, remaining=remaining,
    )
    log JexBurned(auction_id=auction_id, amount=jex_amount, total_burned=total_burned)
    return jex_amount


@external
@view
def current_price() -> uint256:
    """
    @notice The running auction's price now, JEX per USDC (WAD); 0 if none runs.
    @return uint256 Price.
    """
    a: Auction = self.auctions[self.auction_count]
    if self.auction_count == 0 or block.timestamp >= a.end_time or a.remaining == 0:
        return 0
    return self._price(a)


@external
@view
def quote(usdc_amount: uint256) -> uint256:
    """
    @notice JEX a fill of `usdc_amount` would cost now (0 if no auction runs).
    @param usdc_amount USDC token units.
    @return uint256 JEX wei.
    """
    a: Auction = self.auctions[self.auction_count]
    if self.auction_count == 0 or block.timestamp >= a.end_time:
        return 0
    return (usdc_amount * _USDC_TO_WAD * self._price(a) + WAD - 1) // WAD


@internal
@view
def _price(a: Auction) -> uint256:
    # linear from start_price at start_time to end_price at end_time; the
    # drop rounds down so the price never falls faster than the line
    elapsed: uint256 = block.timestamp - a.start_time
    drop: uint256 = (a.start_price - a.end_price) * elapsed // (a.end_time - a.start_time)
    return a.start_price - drop
