# pragma version ~=0.4.3
# pragma optimize codesize
"""
@title Exchange
@notice Holds the perpx collateral, the positions per (account, market) and
        checks every settlement batch the engine posts. Traders deposit,
        withdraw (checked against initial margin on chain) and cancel without
        the operator; if no batch settles for ESCAPE_DELAY seconds anyone can
        start final settlement and every account withdraws its equity.
@dev Money is int WAD (10**18); the collateral token's units are converted
     once, at deposit and withdrawal. The formulas live in modules/rules.vy,
     the twin of engine/core/rules.py. docs/contracts.md lists every invariant
     and revert message.
"""

from ethereum.ercs import IERC20
from ethereum.ercs import IERC20Detailed
from snekmate.auth import access_control
from interfaces import IMarkets
from interfaces import IExchange
from modules import rules
from modules import sigs
from modules import eip712

implements: IExchange


# the JEX economy contracts the Exchange calls (docs/token.md)
interface IStaking:
    def discount_at(account: address, block_number: uint256) -> uint256: view

interface IFeeRouter:
    def route_fees(batch_id: uint256, amount: uint256): nonpayable

interface IInsuranceFund:
    def deposit_exchange_surplus(batch_id: uint256, amount: uint256): nonpayable
    def cover_bad_debt(account: address, batch_id: uint256, amount: uint256) -> uint256: nonpayable


# roles, with DEFAULT_ADMIN_ROLE for the deployer
initializes: access_control
# the EIP-712 domain ("perpx", "1", chain id, this contract) of orders
initializes: eip712

exports: (
    # grantRole, revokeRole, renounceRole, set_role_admin, hasRole, getRoleAdmin,
    # DEFAULT_ADMIN_ROLE, supportsInterface
    access_control.__interface__,
    # (eip712Domain, EIP-5267, is not exported: code size; the domain is
    # name "perpx", version "1", chain id, this contract)
)

SETTLER_ROLE: public(constant(bytes32)) = keccak256("SETTLER_ROLE")
GUARDIAN_ROLE: public(constant(bytes32)) = keccak256("GUARDIAN_ROLE")

ORDER_TYPEHASH: constant(bytes32) = keccak256(
    "Order(address trader,uint256 market,bool isBuy,uint256 size,uint256 limitPrice,uint256 triggerPrice,uint256 flags,uint256 maxFeeRate,uint256 nonce,uint256 expiry)"
)

MAX_MARKETS: public(constant(uint256)) = 16
MAX_FILLS: public(constant(uint256)) = 200
MAX_ACCOUNTS: public(constant(uint256)) = 256

FLAG_REDUCE_ONLY: constant(uint256) = 1
FLAG_POST_ONLY: constant(uint256) = 2
FLAG_IOC: constant(uint256) = 4
FLAG_FOK: constant(uint256) = 8
FLAG_LIQUIDATION: constant(uint256) = 32
# settler-signed counterparty of a liquidation at its bankruptcy price: the
# insurance account taking the position over, or a reduce-only ADL order
FLAG_BACKSTOP: constant(uint256) = 64
# settler-signed reduce-only step reduction of an account below initial margin
FLAG_STEP: constant(uint256) = 128
# orders the settler signs for an account: they only reduce it (but for the
# insurance account's takeovers)
FLAGS_ENGINE: constant(uint256) = 224
# IOC | FOK | LIQUIDATION | BACKSTOP | STEP: orders that never rest use the nonce bitmap
FLAGS_NON_RESTING: constant(uint256) = 236
# every flag the contract implements (isolated margin, 16, is not yet)
FLAGS_SUPPORTED: constant(uint256) = 239
# the insurance fund's trading account (nobody holds its key): its cash is the
# insurance balance, its positions the takeovers
INSURANCE: public(constant(address)) = 0x000000000000000000000000000000000000dEaD
WAD: constant(uint256) = 10**18

# account word: cash as int128 in bits 0..127, the nonce window (nonces
# 0 .. NONCE_WINDOW - 1 of the account as signer) in bits 128..191, the
# open-market bitmap in bits 192..255 (bit 192 + market id)
NONCE_WINDOW: public(constant(uint256)) = 64
WINDOW_SHIFT: constant(uint256) = 128
BITMAP_SHIFT: constant(uint256) = 192
# position word: size as int128 in bits 0..127, last funding index in 128..255
LOW128: constant(uint256) = 2**128 - 1
HIGH128: constant(uint256) = LOW128 << 128
# transient account tag: batch_id << 64 | flags | (index in batch + 1)
TAG_SHIFT: constant(uint256) = 64
TOUCHED: constant(uint256) = 2**32
RISK_UP: constant(uint256) = 2**33
INDEX_MASK: constant(uint256) = 2**32 - 1


struct Order:
    trader: address
    market: uint256
    isBuy: bool
    size: uint256  # WAD base
    limitPrice: uint256  # WAD quote per base
    triggerPrice: uint256  # WAD quote per base, 0 = none (checked off chain)
    flags: uint256  # 1 reduce-only, 2 post-only, 4 IOC, 8 FOK, 32 liquidation, 64 backstop, 128 step
    maxFeeRate: uint256  # WAD fraction of notional
    nonce: uint256
    expiry: uint256  # unix seconds, 0 = good until cancelled

struct Sig:
    v: uint8
    r: bytes32
    s: bytes32

struct Fill:
    maker: Order
    maker_sig: Sig
    taker: Order
    taker_sig: Sig
    size: uint256  # WAD base
    price: uint256  # WAD quote per base
    maker_fee: uint256  # WAD quote
    taker_fee: uint256  # WAD quote

struct Batch:
    batch_id: uint256
    first_seq: uint256
    last_seq: uint256
    journal_digest: bytes32
    timestamp: uint256
    accounts: DynArray[address, MAX_ACCOUNTS]
    fills: DynArray[Fill, MAX_FILLS]

struct PositionState:
    market: uint256
    size: int256  # WAD base, long > 0
    last_index: int256  # funding index at the last settlement

# One order's consecutive fills on one side of the batch.
struct Run:
    hash: bytes32
    filled: uint256  # WAD base filled so far, earlier batches included
    size: uint256  # the order's size
    resting: bool  # may rest in the book (keeps a filled slot while partial)
    slot_set: bool  # resting: filled[hash] holds a partial amount
    fok: bool
    first: bool  # this fill starts the run
    liquidation: bool  # a liquidation or step order: the account is checked at the run's start
    bankruptcy: uint256  # liquidations: the bankruptcy price at the run's start

# What a batch adds to the pools, summed in memory and written once.
struct Tally:
    fees: uint256  # to fee_pool
    insurance: uint256  # dust and liquidation fees
    owed: int256  # funding settled from cash into the funding pools


# @notice The collateral token.
token: public(immutable(IERC20))
# @notice The Markets contract: parameters, prices, funding index.
markets: public(immutable(IMarkets))
# @notice Seconds without a batch after which anyone may start final settlement.
ESCAPE_DELAY: public(immutable(uint256))
# 10 ** (18 - token decimals): token units -> WAD
SCALE: immutable(uint256)

_accounts: HashMap[address, uint256]
_positions: HashMap[address, HashMap[uint256, uint256]]

# @notice WAD base filled per resting order hash; max_value(uint256) once cancelled.
filled: public(HashMap[bytes32, uint256])
# @notice Nonce bitmap for nonces >= NONCE_WINDOW: signer => nonce >> 8 =>
#         word, bit nonce & 255 (nonces below the window live in the signer's
#         account word; read any nonce with nonce_used). A set bit means the
#         (signer, nonce) is spent: a non-resting order was used or cancelled;
#         a resting order was filled (filled[hash] then holds a partial
#         amount, 0 once used up) or cancelled (filled[hash] == max).
used_nonces: public(HashMap[address, HashMap[uint256, uint256]])
# @notice Id of the last settled batch (0: none yet).
last_batch_id: public(uint256)
# @notice Timestamp carried by the last settled batch.
last_batch_ts: public(uint256)
# @notice block.timestamp of the deployment or of the last settled batch.
last_activity: public(uint256)
# @notice Trading fees collected, WAD quote.
fee_pool: public(uint256)
# @notice Funding paid in and not yet paid out per market, WAD quote.
funding_pool: public(HashMap[uint256, int256])
# @notice Sum of long sizes per market, WAD base (== sum of short sizes).
open_interest: public(HashMap[uint256, uint256])
# @notice Sum of every account's cash, WAD quote.
total_cash: public(int256)
# @notice True while the guardian has paused new risk.
paused: public(bool)
# @notice True once final settlement has started (irreversible).
final_settlement: public(bool)
# @notice JEX Staking: fee tiers (zero: fees bounded by maxFeeRate only).
staking: public(address)
# @notice JEX FeeRouter: sweep_fees routes the fee pool to it.
fee_router: public(address)
# @notice JEX InsuranceFund: sweep_fees sends the insurance balance to it; bad debt cover.
insurance_fund: public(address)

_t_acct: transient(HashMap[address, uint256])
# stake discount + 1 per account, read once per transaction (same block)
_t_disc: transient(HashMap[address, uint256])


event Deposit:
    account: indexed(address)
    amount: uint256
    cash: int256

event Withdraw:
    account: indexed(address)
    amount: uint256
    cash: int256

event OrderCancelled:
    trader: indexed(address)
    order_hash: indexed(bytes32)
    nonce: uint256

event BatchSettled:
    batch_id: indexed(uint256)
    first_seq: uint256
    last_seq: uint256
    journal_digest: bytes32

event AccountSettled:
    batch_id: indexed(uint256)
    account: indexed(address)
    cash: int256
    equity: int256
    positions: DynArray[PositionState, MAX_MARKETS]

event Liquidated:
    batch_id: indexed(uint256)
    account: indexed(address)
    market: indexed(uint256)
    size: uint256
    price: uint256
    fee: uint256

# a liquidated position (part) taken over by the insurance account or
# deleveraged against an opposite position, at the bankruptcy price
event Backstopped:
    batch_id: indexed(uint256)
    account: indexed(address)
    counterparty: indexed(address)
    market: uint256
    size: uint256
    price: uint256

event Paused:
    guardian: indexed(address)

event Unpaused:
    guardian: indexed(address)

event FinalSettlementStarted:
    caller: indexed(address)
    last_activity: uint256

event FinalWithdrawal:
    account: indexed(address)
    equity: int256
    amount: uint256

event FeesSwept:
    batch_id: indexed(uint256)
    fees: uint256
    insurance: uint256



@deploy
def __init__(collateral: IERC20, markets_: IMarkets, escape_delay: uint256, staking_: address, fee_router_: address, insurance_fund_: address):
    """
    @notice Deploy with the deployer as DEFAULT_ADMIN; it grants the other roles.
    @param collateral The collateral token (at most 18 decimals).
    @param markets_ The Markets contract.
    @param escape_delay Seconds without a batch before final settlement may start.
    """
    access_control.__init__()
    eip712.__init__()
    decimals: uint8 = staticcall IERC20Detailed(collateral.address).decimals()
    assert decimals <= 18, "exchange: token decimals above 18"
    token = collateral
    markets = markets_
    ESCAPE_DELAY = escape_delay
    SCALE = 10 ** convert(18 - decimals, uint256)
    self.last_activity = block.timestamp
    # the JEX economy is wired all at once or not at all
    wired: bool = staking_ != empty(address)
    assert wired == (fee_router_ != empty(address)) and wired == (insurance_fund_ != empty(address)), "exchange: zero address"
    self.staking = staking_
    self.fee_router = fee_router_
    self.insurance_fund = insurance_fund_


# ---------------------------------------------------------------- traders


@external
@nonreentrant
def deposit(amount: uint256):
    """
    @notice Deposit collateral into the caller's account (needs an allowance).
    @param amount Token units (6 decimals for USDC).
    """
    assert not self.final_settlement, "exchange: final settlement"
    assert amount > 0, "exchange: zero amount"
    cash: int256 = self._add_cash(msg.sender, convert(amount * SCALE, int256))
    log Deposit(account=msg.sender, amount=amount, cash=cash)
    assert extcall token.transferFrom(msg.sender, self, amount, default_return_value=True), "exchange: transfer failed"


@external
@nonreentrant
def withdraw(amount: uint256):
    """
    @notice Withdraw collateral; allowed exactly when the account's equity
            afterwards is at least its initial margin at the last posted marks.
    @dev Works while paused and during final settlement; never needs the operator.
    @param amount Token units (6 decimals for USDC).
    """
    assert amount > 0, "exchange: zero amount"
    cash: int256 = self._add_cash(msg.sender, -convert(amount * SCALE, int256))
    snap: DynArray[IMarkets.MarketRisk, MAX_MARKETS] = self._snapshot()
    equity: int256 = 0
    im: uint256 = 0
    equity, im = self._risk(msg.sender, snap, False)
    assert equity >= convert(im, int256), "exchange: below initial margin"
    log Withdraw(account=msg.sender, amount=amount, cash=cash)
    assert extcall token.transfer(msg.sender, amount, default_return_value=True), "exchange: transfer failed"


@external
def cancel(order: Order):
    """
    @notice Cancel an order on chain; every later fill of it reverts.
    @dev Spends the order's nonce in the trader's bitmap; a resting order's
         filled slot is also set to max_value (reads as cancelled).
    @param order The order exactly as signed; msg.sender must be its trader.
    """
    assert msg.sender == order.trader, "exchange: not the trader"
    assert order.flags & FLAG_LIQUIDATION == 0, "exchange: cannot cancel a liquidation"
    h: bytes32 = self._order_hash(order)
    # the bit sends every later fill of a resting order to its filled slot
    self._spend_nonce(msg.sender, order.nonce)
    if order.flags & FLAGS_NON_RESTING == 0:
        self.filled[h] = max_value(uint256)
    log OrderCancelled(trader=msg.sender, order_hash=h, nonce=order.nonce)


# ---------------------------------------------------------------- settlement


@external
def settle(batch: Batch):
    """
    @notice Apply one settlement batch posted by the engine (SETTLER_ROLE).
    @dev All or nothing. batch_id must be the next one, so a resubmitted batch
         reverts instead of applying twice. Every touched account must meet
         initial margin afterwards, or be strictly less risky than before.
    @param batch The batch: id, journal range and digest, timestamp, accounts
           (sorted ascending, unique) and fills.
    """
    access_control._check_role(SETTLER_ROLE, msg.sender)
    assert not self.final_settlement, "exchange: final settlement"
    assert batch.batch_id == self.last_batch_id + 1, "exchange: batch out of order"
    assert batch.timestamp <= block.timestamp, "exchange: batch from the future"
    assert batch.timestamp >= self.last_batch_ts, "exchange: batch timestamp decreased"
    assert batch.first_seq <= batch.last_seq, "exchange: bad sequence range"
    snap: DynArray[IMarkets.MarketRisk, MAX_MARKETS] = self._snapshot()
    tag: uint256 = batch.batch_id << TAG_SHIFT

    # index the accounts (O(1) membership) and record their risk before the batch
    pre: DynArray[int256, MAX_ACCOUNTS] = []
    prev: uint256 = 0
    equity: int256 = 0
    im: uint256 = 0
    for i: uint256 in range(len(batch.accounts), bound=MAX_ACCOUNTS):
        account: address = batch.accounts[i]
        assert convert(account, uint256) > prev, "exchange: accounts not sorted"
        prev = convert(account, uint256)
        self._t_acct[account] = tag | (i + 1)
        equity, im = self._risk(account, snap, False)
        pre.append(convert(im, int256) - equity)

    maker_run: Run = empty(Run)
    taker_run: Run = empty(Run)
    tally: Tally = empty(Tally)
    paused: bool = self.paused
    domain: bytes32 = eip712._domain_separator_v4()
    for f: Fill in batch.fills:
        maker_run, taker_run, tally = self._fill(f, snap, batch.timestamp, batch.batch_id, paused, domain, maker_run, taker_run, tally)
    self._close_run(maker_run)
    self._close_run(taker_run)
    self.fee_pool += tally.fees
    self.total_cash -= convert(tally.fees + tally.insurance, int256) + tally.owed
    self._add_cash(INSURANCE, convert(tally.insurance, int256))

    # margin after the batch, and the post-state of every account
    for i: uint256 in range(len(batch.accounts), bound=MAX_ACCOUNTS):
        account: address = batch.accounts[i]
        cash: int256 = 0
        positions: DynArray[PositionState, MAX_MARKETS] = []
        cash, equity, im, positions = self._post_state(account, snap)
        t: uint256 = self._t_acct[account]
        if t & TOUCHED != 0 and equity < convert(im, int256):
            assert t & RISK_UP == 0 and convert(im, int256) - equity < pre[i], "exchange: below initial margin after batch"
        log AccountSettled(batch_id=batch.batch_id, account=account, cash=cash, equity=equity, positions=positions)

    self.last_batch_id = batch.batch_id
    self.last_batch_ts = batch.timestamp
    self.last_activity = block.timestamp
    log BatchSettled(
        batch_id=batch.batch_id,
        first_seq=batch.first_seq,
        last_seq=batch.last_seq,
        journal_digest=batch.journal_digest,
    )


# ---------------------------------------------------------------- JEX economy


@external
@nonreentrant
def sweep_fees():
    """
    @notice Route the fee pool to the FeeRouter (as batch last_batch_id) and
            the insurance balance to the InsuranceFund; anyone may call.
    @dev Each pays floor(balance / SCALE) token units and leaves the WAD
         remainder in place, so conservation holds. The router takes each
         batch id once; the insurance part is a contribution to the fund.
    """
    router: address = self.fee_router
    fees: uint256 = self.fee_pool // SCALE
    # the insurance account's cash beyond the initial margin of its takeovers
    equity: int256 = 0
    im: uint256 = 0
    equity, im = self._risk(INSURANCE, self._snapshot(), False)
    free: int256 = min(self._cash(self._accounts[INSURANCE]), equity - convert(im, int256))
    dust: uint256 = convert(max(free, 0), uint256) // SCALE
    assert router != empty(address) and fees + dust > 0, "exchange: nothing to sweep"
    self.fee_pool -= fees * SCALE
    self._add_cash(INSURANCE, -convert(dust * SCALE, int256))
    log FeesSwept(batch_id=self.last_batch_id, fees=fees, insurance=dust)
    if fees > 0:
        self._approve(router, fees)
        extcall IFeeRouter(router).route_fees(self.last_batch_id, fees)
    if dust > 0:
        fund: address = self.insurance_fund
        self._approve(fund, dust)
        extcall IInsuranceFund(fund).deposit_exchange_surplus(self.last_batch_id, dust)


@external
@nonreentrant
def cover_bad_debt(account: address):
    """
    @notice Draw a flat account's negative cash (bad debt) from the
            InsuranceFund; anyone may call, once per account and batch.
    @dev Asks for the debt rounded up to token units; the fund pays what it
         can (its BadDebtCovered event names the account and batch). The
         account is credited with at most its debt; a rounding surplus goes
         to insurance.
    @param account An account with no open position and cash < 0.
    """
    fund: address = self.insurance_fund
    word: uint256 = self._accounts[account]
    cash: int256 = self._cash(word)
    assert fund != empty(address) and cash < 0 and word >> BITMAP_SHIFT == 0, "exchange: no bad debt"
    paid: int256 = convert(extcall IInsuranceFund(fund).cover_bad_debt(account, self.last_batch_id, convert(-cash, uint256) // SCALE + 1) * SCALE, int256)
    credit: int256 = min(paid, -cash)
    self._accounts[account] = self._with_cash(word, cash + credit)
    self.total_cash += credit
    self._add_cash(INSURANCE, paid - credit)


# ---------------------------------------------------------------- guardian and escape hatch


@external
def pause():
    """
    @notice Pause new risk: fills that increase a position and new markets (GUARDIAN_ROLE).
    """
    access_control._check_role(GUARDIAN_ROLE, msg.sender)
    assert not self.paused, "exchange: already paused"
    self.paused = True
    log Paused(guardian=msg.sender)


@external
def unpause():
    """
    @notice Lift the pause (GUARDIAN_ROLE).
    """
    access_control._check_role(GUARDIAN_ROLE, msg.sender)
    assert self.paused, "exchange: not paused"
    self.paused = False
    log Unpaused(guardian=msg.sender)


@external
def start_final_settlement():
    """
    @notice Start final settlement once no batch has settled for ESCAPE_DELAY
            seconds; anyone may call. Irreversible: settle, deposit, prices and
            funding stop, and each account calls withdraw_final.
    """
    assert not self.final_settlement, "exchange: final settlement started"
    assert block.timestamp >= self.last_activity + ESCAPE_DELAY, "exchange: escape delay not elapsed"
    self.final_settlement = True
    log FinalSettlementStarted(caller=msg.sender, last_activity=self.last_activity)


@external
@nonreentrant
def withdraw_final():
    """
    @notice During final settlement: close all the caller's positions at the
            last posted marks (funding settled) and pay out max(equity, 0).
    @dev Positions close against the insurance balance at mark (values rounded
         toward -inf, so the insurance keeps the dust); negative equity is
         absorbed by the insurance balance; the payout rounds down to token
         units and the remainder goes to insurance.
    """
    assert self.final_settlement, "exchange: final settlement not started"
    snap: DynArray[IMarkets.MarketRisk, MAX_MARKETS] = self._snapshot()
    word: uint256 = self._accounts[msg.sender]
    cash: int256 = self._cash(word)
    start_cash: int256 = cash
    bitmap: uint256 = word >> BITMAP_SHIFT
    insurance: int256 = 0  # what the insurance account gains
    for m: uint256 in range(1, MAX_MARKETS + 1):
        if bitmap >> m == 0:
            break
        if bitmap & (1 << m) == 0:
            continue
        size: int256 = 0
        last: int256 = 0
        size, last = self._unpack(self._positions[msg.sender][m])
        r: IMarkets.MarketRisk = snap[m - 1]
        owed: int256 = rules._funding_owed(size, r.cumulative_index, last)
        value: int256 = rules._position_value(size, r.mark)
        self.funding_pool[m] += owed
        insurance -= value
        cash += value - owed
        if size > 0:
            self.open_interest[m] -= convert(size, uint256)
        self._positions[msg.sender][m] = 0
    payout: uint256 = 0
    if cash < 0:
        insurance += cash
    else:
        payout = convert(cash, uint256) // SCALE
        insurance += cash - convert(payout * SCALE, int256)
    # if losses beyond the insurance balance left too few tokens, pay what is
    # held and keep the rest as a claim the account can withdraw later
    claim: uint256 = 0
    held: uint256 = staticcall token.balanceOf(self)
    if payout > held:
        claim = payout - held
        payout = held
    self._add_cash(INSURANCE, insurance)
    # positions closed: clear the bitmap, keep the nonce window
    self._accounts[msg.sender] = self._with_cash(word & ((1 << BITMAP_SHIFT) - 1), convert(claim * SCALE, int256))
    self.total_cash += convert(claim * SCALE, int256) - start_cash
    log FinalWithdrawal(account=msg.sender, equity=cash, amount=payout)
    if payout > 0:
        assert extcall token.transfer(msg.sender, payout, default_return_value=True), "exchange: transfer failed"


# ---------------------------------------------------------------- views


@view
@external
def order_hash(order: Order) -> bytes32:
    """
    @notice The EIP-712 digest of an order: its id everywhere.
    @param order The order.
    @return The digest (== engine.eip712.order_hash).
    """
    return self._order_hash(order)


@view
@external
def nonce_used(signer: address, nonce: uint256) -> bool:
    """
    @notice Whether a non-resting order's nonce has been used or cancelled.
    @param signer The trader (for liquidation orders: the settler that signed).
    @param nonce The nonce.
    @return True if used.
    """
    return self._nonce_spent(signer, nonce)


@view
@external
def cash(account: address) -> int256:
    """
    @notice An account's cash, before unsettled funding.
    @param account The account.
    @return Cash in WAD quote.
    """
    return self._cash(self._accounts[account])


@view
@external
def position(account: address, market: uint256) -> (int256, int256):
    """
    @notice An account's position in a market.
    @param account The account.
    @param market The market id.
    @return size (WAD base, long > 0) and the funding index it last settled at.
    """
    return self._unpack(self._positions[account][market])


@view
@external
def positions(account: address) -> DynArray[PositionState, MAX_MARKETS]:
    """
    @notice Every open position of an account.
    @param account The account.
    @return (market, size, last_index) per open market, in market order.
    """
    return self._post_state(account, self._snapshot())[3]


@view
@external
def equity(account: address) -> int256:
    """
    @notice Equity at the last posted marks: cash + sum(value - funding owed).
    @param account The account.
    @return Equity in WAD quote.
    """
    return self._risk(account, self._snapshot(), False)[0]


@view
@external
def initial_margin(account: address) -> uint256:
    """
    @notice Initial margin requirement at the last posted marks.
    @param account The account.
    @return WAD quote.
    """
    return self._risk(account, self._snapshot(), False)[1]


@view
@external
def maintenance_margin(account: address) -> uint256:
    """
    @notice Maintenance margin requirement at the last posted marks.
    @param account The account.
    @return WAD quote.
    """
    return self._risk(account, self._snapshot(), True)[1]


@view
@external
def insurance() -> int256:
    """
    @notice The insurance balance: the cash of the INSURANCE account.
    @return WAD quote (negative after losses beyond it).
    """
    return self._cash(self._accounts[INSURANCE])


# ---------------------------------------------------------------- internal: fills


@internal
def _fill(f: Fill, snap: DynArray[IMarkets.MarketRisk, MAX_MARKETS], ts: uint256, batch_id: uint256, paused: bool, domain: bytes32, maker_run: Run, taker_run: Run, tally: Tally) -> (Run, Run, Tally):
    market: uint256 = f.maker.market
    assert f.taker.market == market, "exchange: market mismatch"
    assert f.maker.isBuy != f.taker.isBuy, "exchange: same side"
    assert market >= 1 and market <= len(snap), "exchange: unknown market"
    r: IMarkets.MarketRisk = snap[market - 1]
    assert r.mark > 0, "exchange: no price"
    assert f.size > 0 and f.size % r.step_size == 0, "exchange: size off step"
    # a backstop fill is at a bankruptcy price, which is off the tick grid
    backstop: bool = (f.maker.flags | f.taker.flags) & FLAG_BACKSTOP != 0
    assert f.price > 0 and (backstop or f.price % r.tick_size == 0), "exchange: price off tick"
    assert f.taker.flags & FLAG_POST_ONLY == 0, "exchange: post-only taker"
    buy: Order = f.taker
    sell: Order = f.maker
    buy_fee: uint256 = f.taker_fee
    sell_fee: uint256 = f.maker_fee
    buy_base: uint256 = r.taker_fee_rate
    sell_base: uint256 = r.maker_fee_rate
    if f.maker.isBuy:
        buy = f.maker
        sell = f.taker
        buy_fee = f.maker_fee
        sell_fee = f.taker_fee
        buy_base = r.maker_fee_rate
        sell_base = r.taker_fee_rate
    assert f.price <= buy.limitPrice and f.price >= sell.limitPrice, "exchange: price outside limit"

    mrun: Run = self._take_order(f.maker, f.maker_sig, f.size, ts, batch_id, domain, maker_run)
    trun: Run = self._take_order(f.taker, f.taker_sig, f.size, ts, batch_id, domain, taker_run)
    if mrun.liquidation:
        mrun = self._check_liquidation(f.maker, f.price, r, snap, mrun)
    if trun.liquidation:
        trun = self._check_liquidation(f.taker, f.price, r, snap, trun)
    if backstop:
        # takeover or ADL: against a liquidation run, at exactly its
        # bankruptcy price, with no fee on either side
        liq: Run = trun
        account: address = f.taker.trader
        counterparty: address = f.maker.trader
        if f.taker.flags & FLAG_BACKSTOP != 0:
            liq = mrun
            account = f.maker.trader
            counterparty = f.taker.trader
        assert liq.bankruptcy == f.price and f.maker_fee == 0 and f.taker_fee == 0, "exchange: bad backstop fill"
        log Backstopped(batch_id=batch_id, account=account, counterparty=counterparty, market=market, size=f.size, price=f.price)

    # the buyer's leg rounds up, the seller's down; receives == floor(notional)
    pays: uint256 = 0
    receives: uint256 = 0
    pays, receives = rules._trade_cash(f.size, f.price)
    out: Tally = tally
    out.insurance += pays - receives

    # fees on normal orders go to the fee pool, capped by each order's
    # maxFeeRate; a liquidated side pays the liquidation fee instead
    buy_liq: bool = buy.flags & FLAG_LIQUIDATION != 0 and not backstop
    sell_liq: bool = sell.flags & FLAG_LIQUIDATION != 0 and not backstop
    buy_charge: uint256 = 0
    sell_charge: uint256 = 0
    if not buy_liq:
        self._check_fee(buy.trader, buy_fee, receives, buy.maxFeeRate, buy_base)
        buy_charge = buy_fee
    if not sell_liq:
        self._check_fee(sell.trader, sell_fee, receives, sell.maxFeeRate, sell_base)
        sell_charge = sell_fee
    out.fees += buy_charge + sell_charge

    delta: int256 = convert(f.size, int256)
    out.owed += self._move(buy.trader, market, delta, -convert(pays + buy_charge, int256), r, buy.flags, paused)
    out.owed += self._move(sell.trader, market, -delta, convert(receives, int256) - convert(sell_charge, int256), r, sell.flags, paused)

    if buy_liq:
        out.insurance += self._charge_liquidation(buy.trader, f, buy_fee, r, snap, batch_id)
    if sell_liq:
        out.insurance += self._charge_liquidation(sell.trader, f, sell_fee, r, snap, batch_id)
    return mrun, trun, out


@internal
def _take_order(o: Order, sig: Sig, size: uint256, ts: uint256, batch_id: uint256, domain: bytes32, run: Run) -> Run:
    """
    @dev Checks one side of a fill and records how much of the order is used.
         Consecutive fills of the same order form a run: its signature and
         once-only checks are done at the run's first fill. An order that is
         used up (or cannot rest) marks its nonce in the signer's bitmap; a
         resting order keeps filled[hash] only while partially filled.
    """
    # the domain separator is computed once per batch
    h: bytes32 = keccak256(concat(x"1901", domain, self._order_struct_hash(o)))
    out: Run = run
    out.first = False
    if h == run.hash:
        out.filled = run.filled + size
        assert out.filled <= o.size, "exchange: order overfilled"
        if run.resting:
            out = self._record_resting(out)
        return out
    self._close_run(run)

    assert o.flags & FLAGS_SUPPORTED == o.flags, "exchange: unsupported flags"
    assert o.expiry == 0 or ts < o.expiry, "exchange: order expired"
    t: uint256 = self._t_acct[o.trader]
    assert t >> TAG_SHIFT == batch_id, "exchange: account not in batch"
    if t & TOUCHED == 0:
        self._t_acct[o.trader] = t | TOUCHED
    signer: address = sigs._recover(h, sig.v, sig.r, sig.s)
    assert signer != empty(address), "exchange: invalid signature"
    if o.flags & FLAGS_ENGINE != 0:
        assert access_control.hasRole[SETTLER_ROLE][signer], "exchange: engine order not signed by settler"
    else:
        assert signer == o.trader, "exchange: wrong signer"
    resting: bool = o.flags & FLAGS_NON_RESTING == 0
    done: uint256 = 0
    if self._nonce_spent(signer, o.nonce):
        # spent nonce: only a partially filled resting order may go on
        assert resting, "exchange: nonce already used"
        done = self.filled[h]
        assert done != max_value(uint256), "exchange: order cancelled"
        assert done != 0, "exchange: nonce already used"
    else:
        # a fresh order: the first fill spends its nonce, no filled slot read
        self._spend_nonce(signer, o.nonce)
    out = Run(
        hash=h,
        filled=done + size,
        size=o.size,
        resting=resting,
        slot_set=done != 0,
        fok=o.flags & FLAG_FOK != 0,
        first=True,
        liquidation=o.flags & (FLAG_LIQUIDATION | FLAG_STEP) != 0,
        bankruptcy=0,
    )
    assert out.filled <= o.size, "exchange: order overfilled"
    if resting:
        return self._record_resting(out)
    return out


@internal
def _record_resting(run: Run) -> Run:
    """
    @dev filled[hash] holds a resting order's partial amount; once the order
         is used up the slot is freed (its nonce bit is already set).
    """
    out: Run = run
    if run.filled == run.size:
        if run.slot_set:
            self.filled[run.hash] = 0
            out.slot_set = False
    else:
        self.filled[run.hash] = run.filled
        out.slot_set = True
    return out


@pure
@internal
def _close_run(run: Run):
    if run.fok:
        assert run.filled == run.size, "exchange: fill-or-kill not filled"


@internal
def _check_liquidation(o: Order, price: uint256, r: IMarkets.MarketRisk, snap: DynArray[IMarkets.MarketRisk, MAX_MARKETS], run: Run) -> Run:
    """
    @dev At a liquidation run's first fill: the account is below maintenance
         margin at the on-chain mark, and the run's bankruptcy price is fixed
         from its whole position. Every fill of the run: price no worse. A
         step order (no liquidation flag) needs the account below initial
         margin and is bounded by its limit price only.
    """
    out: Run = run
    liq: bool = o.flags & FLAG_LIQUIDATION != 0
    if run.first:
        equity: int256 = 0
        mm: uint256 = 0
        equity, mm = self._risk(o.trader, snap, liq)
        assert equity < convert(mm, int256), "exchange: account not liquidatable"
        size: int256 = self._unpack(self._positions[o.trader][o.market])[0]
        # a zero or same-direction position fails later as an increase
        if size != 0:
            out.bankruptcy = rules._bankruptcy_price(size, r.mark, equity)
    if not liq:
        return out
    if o.isBuy:
        assert price <= out.bankruptcy, "exchange: price beyond bankruptcy"
    else:
        assert price >= out.bankruptcy, "exchange: price beyond bankruptcy"
    return out


@internal
def _charge_liquidation(account: address, f: Fill, fee_field: uint256, r: IMarkets.MarketRisk, snap: DynArray[IMarkets.MarketRisk, MAX_MARKETS], batch_id: uint256) -> uint256:
    """
    @dev After a liquidation fill: the fee is rules.liquidation_fee on the
         equity after the fill; the fill's fee field must equal it. Returns
         the fee, which the caller adds to insurance.
    """
    equity: int256 = self._risk(account, snap, False)[0]
    fee: uint256 = rules._liquidation_fee(f.size, f.price, r.liquidation_fee_rate, equity)
    assert fee_field == fee, "exchange: wrong liquidation fee"
    word: uint256 = self._accounts[account]
    self._accounts[account] = self._with_cash(word, self._cash(word) - convert(fee, int256))
    log Liquidated(batch_id=batch_id, account=account, market=f.maker.market, size=f.size, price=f.price, fee=fee)
    return fee


@internal
def _approve(spender: address, amount: uint256):
    assert extcall token.approve(spender, amount, default_return_value=True), "exchange: transfer failed"


@internal
def _check_fee(account: address, fee: uint256, notional: uint256, max_rate: uint256, base: uint256):
    """
    @dev fee <= fee_on_notional(notional, the order's maxFeeRate) and, once
         JEX is wired, fee <= fee_on_notional(notional, rate) with
         rate = floor(base x (1 - discount)), the same floor as
         Staking.max_fee_rate; the discount uses the stake at the end of the
         block before this one and is read once per account and transaction.
    """
    assert fee <= rules._fee_on_notional(notional, max_rate), "exchange: fee above max"
    staking: address = self.staking
    if staking == empty(address):
        return
    d: uint256 = self._t_disc[account]
    if d == 0:
        d = staticcall IStaking(staking).discount_at(account, block.number) + 1
        self._t_disc[account] = d
    # d - 1 is the discount (<= 40%), so WAD + 1 - d never underflows
    rate: uint256 = base * (WAD + 1 - d) // WAD
    assert fee <= rules._fee_on_notional(notional, rate), "exchange: fee above tier"


@internal
def _move(account: address, market: uint256, delta: int256, cash_delta: int256, r: IMarkets.MarketRisk, flags: uint256, paused: bool) -> int256:
    """
    @dev Settle the position's funding, apply a size change and a cash change.
         Returns the funding settled (added to the market's pool here; the
         caller tallies it out of total_cash).
    """
    size: int256 = 0
    last: int256 = 0
    size, last = self._unpack(self._positions[account][market])
    word: uint256 = self._accounts[account]
    cash: int256 = self._cash(word) + cash_delta
    owed: int256 = 0
    if size != 0 and last != r.cumulative_index:
        owed = rules._funding_owed(size, r.cumulative_index, last)
        if owed != 0:
            cash -= owed
            self.funding_pool[market] += owed
    new: int256 = size + delta
    if new != 0 and (size == 0 or (size > 0) != (new > 0) or abs(new) > abs(size)):
        # the position grows or flips: new risk
        assert flags & (FLAG_REDUCE_ONLY | FLAGS_ENGINE) == 0 or account == INSURANCE, "exchange: reduce-only increases position"
        assert not paused, "exchange: paused"
        t: uint256 = self._t_acct[account]
        if t & RISK_UP == 0:
            self._t_acct[account] = t | RISK_UP
    if new == 0:
        self._positions[account][market] = 0
        word &= ~(1 << (BITMAP_SHIFT + market))
    else:
        self._positions[account][market] = self._pack(new, r.cumulative_index)
        word |= 1 << (BITMAP_SHIFT + market)
    self._accounts[account] = self._with_cash(word, cash)

    old_long: uint256 = convert(max(size, 0), uint256)
    new_long: uint256 = convert(max(new, 0), uint256)
    if old_long != new_long:
        oi: uint256 = self.open_interest[market] + new_long - old_long
        self.open_interest[market] = oi
        if oi == 0:
            # every position of the market has settled: the pool is rounding dust
            self._add_cash(INSURANCE, self.funding_pool[market])
            self.funding_pool[market] = 0
    return owed


# ---------------------------------------------------------------- internal: accounts


@view
@internal
def _risk(account: address, snap: DynArray[IMarkets.MarketRisk, MAX_MARKETS], maintenance: bool) -> (int256, uint256):
    """
    @dev (equity, initial margin) or, if `maintenance`, (equity, maintenance
         margin), in WAD quote at the snapshot's marks and funding indices.
    """
    word: uint256 = self._accounts[account]
    equity: int256 = self._cash(word)
    bitmap: uint256 = word >> BITMAP_SHIFT
    requirement: uint256 = 0
    for m: uint256 in range(1, MAX_MARKETS + 1):
        if bitmap >> m == 0:
            break
        if bitmap & (1 << m) == 0:
            continue
        size: int256 = 0
        last: int256 = 0
        size, last = self._unpack(self._positions[account][m])
        r: IMarkets.MarketRisk = snap[m - 1]
        equity += rules._position_value(size, r.mark) - rules._funding_owed(size, r.cumulative_index, last)
        fraction: uint256 = r.imf
        if maintenance:
            fraction = r.mmf
        requirement += rules._margin_requirement(size, r.mark, fraction)
    return equity, requirement


@view
@internal
def _post_state(account: address, snap: DynArray[IMarkets.MarketRisk, MAX_MARKETS]) -> (int256, int256, uint256, DynArray[PositionState, MAX_MARKETS]):
    """
    @dev (cash, equity, initial margin, open positions) in one pass.
    """
    word: uint256 = self._accounts[account]
    cash: int256 = self._cash(word)
    equity: int256 = cash
    bitmap: uint256 = word >> BITMAP_SHIFT
    im: uint256 = 0
    out: DynArray[PositionState, MAX_MARKETS] = []
    for m: uint256 in range(1, MAX_MARKETS + 1):
        if bitmap >> m == 0:
            break
        if bitmap & (1 << m) == 0:
            continue
        size: int256 = 0
        last: int256 = 0
        size, last = self._unpack(self._positions[account][m])
        r: IMarkets.MarketRisk = snap[m - 1]
        equity += rules._position_value(size, r.mark) - rules._funding_owed(size, r.cumulative_index, last)
        im += rules._margin_requirement(size, r.mark, r.imf)
        out.append(PositionState(market=m, size=size, last_index=last))
    return cash, equity, im, out


@internal
def _add_cash(account: address, delta: int256) -> int256:
    word: uint256 = self._accounts[account]
    cash: int256 = self._cash(word) + delta
    self._accounts[account] = self._with_cash(word, cash)
    self.total_cash += delta
    return cash


@view
@internal
def _order_hash(o: Order) -> bytes32:
    return eip712._hash_typed_data_v4(self._order_struct_hash(o))


@pure
@internal
def _order_struct_hash(o: Order) -> bytes32:
    return keccak256(
        abi_encode(
            ORDER_TYPEHASH,
            o.trader,
            o.market,
            o.isBuy,
            o.size,
            o.limitPrice,
            o.triggerPrice,
            o.flags,
            o.maxFeeRate,
            o.nonce,
            o.expiry,
        )
    )


@view
@internal
def _snapshot() -> DynArray[IMarkets.MarketRisk, MAX_MARKETS]:
    # one call site: the ABI decoding of the snapshot is emitted once
    return staticcall markets.risk_snapshot()


@view
@internal
def _nonce_spent(signer: address, nonce: uint256) -> bool:
    # nonces below NONCE_WINDOW live in the signer's account word, the rest
    # in used_nonces[signer][nonce >> 8], bit nonce & 255
    if nonce < NONCE_WINDOW:
        return self._accounts[signer] & (1 << (WINDOW_SHIFT + nonce)) != 0
    return self.used_nonces[signer][nonce >> 8] & (1 << (nonce & 255)) != 0


@internal
def _spend_nonce(signer: address, nonce: uint256):
    if nonce < NONCE_WINDOW:
        self._accounts[signer] |= 1 << (WINDOW_SHIFT + nonce)
    else:
        self.used_nonces[signer][nonce >> 8] |= 1 << (nonce & 255)


@pure
@internal
def _cash(word: uint256) -> int256:
    # sign-extend the low 128 bits (arithmetic shift right)
    return convert(convert(word << 128, bytes32), int256) >> 128


@pure
@internal
def _with_cash(word: uint256, cash: int256) -> uint256:
    # int128 range check, then the two's complement bits into the low 128;
    # the nonce window and the bitmap above are kept
    c: int128 = convert(cash, int128)
    return (word & HIGH128) | (convert(convert(convert(c, int256), bytes32), uint256) & LOW128)


@pure
@internal
def _unpack(word: uint256) -> (int256, int256):
    size: int256 = convert(convert(word << 128, bytes32), int256) >> 128
    last: int256 = convert(convert(word, bytes32), int256) >> 128
    return size, last


@pure
@internal
def _pack(size: int256, last: int256) -> uint256:
    # int128 range checks, then two's complement halves
    s: int128 = convert(size, int128)
    l: int128 = convert(last, int128)
    return (convert(convert(convert(l, int256), bytes32), uint256) << 128) | (convert(convert(convert(s, int256), bytes32), uint256) & LOW128)
