"""The JEX economy, played on a deployment whose trading has produced fees.

`run_economy` is the "JEX economy" section of the demo report (issue 5). On
the deployed contracts (engine/chain/deploy.py) it:

1. has the treasury grant JEX to three stakers, who stake part of it and
   delegate the rest of their votes to themselves (the treasury delegates
   to itself too);
2. calls `Exchange.sweep_fees()` and reads the FeeRouter's `FeesRouted`
   event: insurance, stakers, buyback and treasury pieces (docs/token.md);
3. moves the clock into the next 7-day epoch, lets every staker claim its
   USDC reward and reads `Staking.annualized_yield()`;
4. starts the buyback's Dutch auction; a filler buys half the lot after a
   quarter of the auction and the rest after half of it, paying JEX at the
   falling price; every JEX is burned and the total supply falls by it;
5. passes one governance proposal that changes a market's taker fee:
   propose, vote, wait out the voting period (mined blocks) and the
   timelock, queue, execute; the rate is read back from Markets.

Units: USDC amounts in token units (6 decimals locally), JEX in wei
(18 decimals), rates, prices and yields in WAD (10**18 = 1 = 100%).
Every step is a real transaction; nothing is computed off chain except the
display. Works on py-evm and on any JSON-RPC node that mines on demand.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from rich.console import Console
from rich.table import Table
from web3.contract import Contract
from web3.logs import DISCARD

from engine.chain.deploy import Deployment
from engine.chain.node import Chain
from engine.core.errors import PerpxError
from engine.core.wad import WAD

JEX = 10**18  # JEX wei per JEX
BPS = WAD // 10_000
EPOCH_S = 7 * 86400  # FeeRouter / Staking / BuybackBurn epoch, seconds
# (label, JEX granted by the treasury, JEX staked); the rest votes, delegated
STAKERS: tuple[tuple[str, int, int], ...] = (
    ("staker-1", 1_000_000 * JEX, 600_000 * JEX),
    ("staker-2", 500_000 * JEX, 300_000 * JEX),
    ("staker-3", 100_000 * JEX, 100_000 * JEX),
)
PROPOSER = "staker-1"
# (voter label, support: 0 against, 1 for, 2 abstain)
VOTES: tuple[tuple[str, int], ...] = (("staker-1", 1), ("staker-2", 0), ("treasury", 1))
VOTE_NAMES = ("against", "for", "abstain")
STATE_NAMES = ("pending", "active", "canceled", "defeated", "succeeded", "queued",
               "expired", "executed")
NEW_TAKER_FEE_RATE = 4 * BPS  # WAD fraction: the proposal cuts 5 bps to 4 bps


class EconomyError(PerpxError, RuntimeError):
    """The JEX economy cannot be played on this deployment (not wired, no fees)."""


@dataclass(frozen=True, slots=True)
class StakerRow:
    label: str
    address: str
    granted: int  # JEX wei
    staked: int  # JEX wei
    votes: int  # JEX wei delegated to itself (the unstaked balance)
    claimed: int  # USDC units


@dataclass(frozen=True, slots=True)
class FeeSplit:
    """One FeesRouted event plus the insurance surplus swept with it."""

    batch_id: int
    fees: int  # USDC units routed
    insurance: int
    net_revenue: int
    stakers: int
    buyback: int
    treasury: int
    surplus_to_insurance: int  # the Exchange's insurance balance swept (USDC units)


@dataclass(frozen=True, slots=True)
class AuctionFill:
    elapsed_s: int  # seconds since the auction started
    price: int  # JEX per USDC, WAD
    usdc: int  # USDC units bought
    jex: int  # JEX wei paid and burned


@dataclass(frozen=True, slots=True)
class GovernanceRun:
    proposal_id: int
    market: int
    proposer: str
    for_votes: int  # JEX wei
    against_votes: int
    abstain_votes: int
    quorum: int  # JEX wei needed (for + abstain)
    eta: int  # seconds: earliest execution
    taker_fee_before: int  # WAD fraction
    taker_fee_queued: int  # WAD fraction, read while queued (unchanged)
    taker_fee_after: int  # WAD fraction, read after execution
    final_state: str


@dataclass(frozen=True, slots=True)
class EconomyResult:
    stakers: tuple[StakerRow, ...]
    split: FeeSplit
    rewards_funded: int  # USDC units, Staking.total_rewards_funded after the sweep
    rewards_claimed: int  # USDC units paid by claim() in this run
    annualized_yield: int  # USDC per staked JEX per year, WAD
    reward_epoch: int
    auction_id: int
    auction_lot: int  # USDC units
    auction_start_price: int  # JEX per USDC, WAD
    auction_end_price: int
    fills: tuple[AuctionFill, ...]
    jex_burned: int  # JEX wei
    supply_before: int  # JEX wei, before the first fill
    supply_after: int  # JEX wei, after the last fill
    governance: GovernanceRun


def _jex(wei: int) -> str:
    return f"{wei / JEX:,.4f}"


def _units(amount: int, decimals: int) -> str:
    return f"{amount / 10**decimals:,.{decimals}f}"


def _bps(rate: int) -> str:
    return f"{rate / BPS:g} bps"


def mine(chain: Chain, blocks: int) -> None:
    """Mine `blocks` empty blocks (py-evm tester or an RPC node's evm_mine)."""
    if chain.kind == "pyevm":
        chain.tester.mine_blocks(blocks)
        return
    for _ in range(blocks):
        chain.w3.provider.make_request("evm_mine", [])


def _require_wired(d: Deployment) -> None:
    missing = [name for name in ("jex", "staking", "buyback", "fee_router", "governor",
                                 "insurance_fund") if getattr(d, name) is None]
    if missing:
        raise EconomyError(f"deployment has no JEX economy: {', '.join(missing)} missing")
    scale = 10 ** (18 - d.usdc.functions.decimals().call())
    fees = d.exchange.functions.fee_pool().call() // scale
    if fees == 0:
        raise EconomyError("the Exchange's fee pool holds less than one USDC unit: "
                           "settle some trades before the JEX economy section")


def grant_and_stake(d: Deployment) -> tuple[StakerRow, ...]:
    """Step 1: the treasury grants JEX; each staker stakes part and self-delegates the rest."""
    chain, jex, staking, treasury = d.chain, d.jex, d.staking, d.roles["treasury"]
    rows = []
    for label, granted, staked in STAKERS:
        who = chain.signer(label)
        chain.send(jex.functions.transfer(who.address, granted), treasury)
        chain.send(jex.functions.approve(staking.address, staked), who)
        chain.send(staking.functions.stake(staked), who)
        chain.send(jex.functions.delegate(who.address), who)
        rows.append(StakerRow(label, who.address, granted, staked,
                              jex.functions.getVotes(who.address).call(), 0))
    chain.send(jex.functions.delegate(treasury.address), treasury)
    return tuple(rows)


def sweep(d: Deployment) -> FeeSplit:
    """Step 2: Exchange.sweep_fees(); the split as the FeeRouter's event reports it."""
    receipt = d.chain.send(d.exchange.functions.sweep_fees(), d.chain.signer("keeper"))
    routed = d.fee_router.events.FeesRouted().process_receipt(receipt, errors=DISCARD)
    swept = d.exchange.events.FeesSwept().process_receipt(receipt, errors=DISCARD)
    if len(routed) != 1 or len(swept) != 1:
        raise EconomyError(f"sweep_fees logged {len(routed)} FeesRouted and {len(swept)} "
                           "FeesSwept events, expected one of each")
    a = routed[0]["args"]
    return FeeSplit(a["batch_id"], a["fees"], a["insurance"], a["net_revenue"], a["stakers"],
                    a["buyback"], a["treasury"], swept[0]["args"]["insurance"])


def claim_rewards(d: Deployment, rows: tuple[StakerRow, ...]) -> tuple[StakerRow, ...]:
    """Step 3: every staker with something earned claims it (RewardPaid amounts)."""
    out = []
    for row in rows:
        who = d.chain.signer(row.label)
        claimed = 0
        if d.staking.functions.earned(who.address).call() > 0:
            receipt = d.chain.send(d.staking.functions.claim(), who)
            paid = d.staking.events.RewardPaid().process_receipt(receipt, errors=DISCARD)
            claimed = sum(e["args"]["amount"] for e in paid)
        out.append(StakerRow(row.label, row.address, row.granted, row.staked, row.votes,
                             claimed))
    return tuple(out)


def _fill(d: Deployment, filler: LocalAccount, usdc_amount: int, started: int) -> AuctionFill:
    """Buy `usdc_amount` at the current price (the filler's limit); the JEX paid is burned."""
    bb, chain = d.buyback, d.chain
    price = bb.functions.current_price().call()  # the price only falls: a valid limit
    receipt = chain.send(bb.functions.fill(usdc_amount, price), filler)
    ev = bb.events.AuctionFilled().process_receipt(receipt, errors=DISCARD)[0]["args"]
    block_ts = chain.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    return AuctionFill(block_ts - started, ev["price"], ev["usdc_amount"], ev["jex_amount"])


def run_auction(d: Deployment) -> tuple[int, tuple, tuple[AuctionFill, ...], int, int]:
    """Step 4: start the epoch's auction; fill half at 1/4 of it and the rest at 1/2.

    Returns (auction id, (lot, start price, end price), fills, supply before, after)."""
    bb, chain = d.buyback, d.chain
    receipt = chain.send(bb.functions.start_auction(), chain.signer("keeper"))
    ev = bb.events.AuctionStarted().process_receipt(receipt, errors=DISCARD)[0]["args"]
    auction_id, lot, started = ev["auction_id"], ev["lot"], ev["start_time"]
    duration = ev["end_time"] - started
    filler = chain.signer("filler")
    budget = bb.functions.quote(lot).call()  # the whole lot at the start price: enough
    chain.send(d.jex.functions.transfer(filler.address, budget), d.roles["treasury"])
    chain.send(d.jex.functions.approve(bb.address, budget), filler)
    supply_before = d.jex.functions.totalSupply().call()
    fills = []
    for fraction, amount in ((4, lot // 2), (2, lot - lot // 2)):
        chain.set_time(started + duration // fraction)
        if amount > 0:
            fills.append(_fill(d, filler, amount, started))
    supply_after = d.jex.functions.totalSupply().call()
    return (auction_id, (lot, ev["start_price"], ev["end_price"]), tuple(fills),
            supply_before, supply_after)


def _propose(d: Deployment, market: int, rate: int) -> int:
    gov, chain = d.governor, d.chain
    data = bytes.fromhex(d.markets.encode_abi("set_taker_fee_rate", args=[market, rate])[2:])
    text = f"Set the taker fee of market {market} to {_bps(rate)}"
    receipt = chain.send(gov.functions.propose(d.markets.address, data, text),
                         chain.signer(PROPOSER))
    return gov.events.ProposalCreated().process_receipt(receipt, errors=DISCARD)[0][
        "args"]["proposal_id"]


def _voter(d: Deployment, label: str) -> LocalAccount:
    return d.roles[label] if label in d.roles else d.chain.signer(label)


def govern_taker_fee(d: Deployment, market: int, rate: int) -> GovernanceRun:
    """Step 5: propose, vote, wait out voting and the timelock, queue, execute."""
    gov, chain, mk = d.governor, d.chain, d.markets
    before = mk.functions.taker_fee_rate(market).call()
    pid = _propose(d, market, rate)
    start, end = gov.functions.proposals(pid).call()[3:5]
    mine(chain, max(0, start + 1 - chain.w3.eth.block_number))  # voting opens after start
    for label, support in VOTES:
        chain.send(gov.functions.cast_vote(pid, support), _voter(d, label))
    mine(chain, max(0, end + 1 - chain.w3.eth.block_number))  # voting closes after end
    receipt = chain.send(gov.functions.queue(pid), chain.signer("keeper"))
    eta = gov.events.ProposalQueued().process_receipt(receipt, errors=DISCARD)[0]["args"]["eta"]
    queued = mk.functions.taker_fee_rate(market).call()
    chain.set_time(eta)
    chain.send(gov.functions.execute(pid), chain.signer("keeper"))
    p = gov.functions.proposals(pid).call()
    return GovernanceRun(pid, market, PROPOSER, p[5], p[6], p[7],
                         gov.functions.quorum(start).call(),
                         eta, before, queued, mk.functions.taker_fee_rate(market).call(),
                         STATE_NAMES[gov.functions.state(pid).call()])


def run_economy(deployment: Deployment, console: Console, market: str = "ETH-USD",
                new_taker_fee_rate: int = NEW_TAKER_FEE_RATE) -> EconomyResult:
    """Play the JEX economy on `deployment` and print the report section.

    Needs settled fees in the Exchange's fee pool; moves the chain's clock
    into the next 7-day epoch plus half a day plus the 1-hour timelock."""
    d = deployment
    _require_wired(d)
    market_id = d.market_ids[market]
    console.rule("[bold]JEX economy")
    rows = grant_and_stake(d)
    split = sweep(d)
    epoch = d.chain.now() // EPOCH_S
    d.chain.set_time((epoch + 1) * EPOCH_S + 60)  # close the epoch: the yield reads it
    rows = claim_rewards(d, rows)
    auction_id, (lot, p0, p1), fills, s0, s1 = run_auction(d)
    governance = govern_taker_fee(d, market_id, new_taker_fee_rate)
    result = EconomyResult(
        rows, split, d.staking.functions.total_rewards_funded().call(),
        sum(r.claimed for r in rows), d.staking.functions.annualized_yield().call(), epoch,
        auction_id, lot, p0, p1, fills, sum(f.jex for f in fills), s0, s1, governance)
    print_economy(result, console, d.usdc.functions.decimals().call(), market)
    return result


def _split_table(r: EconomyResult, dec: int) -> Table:
    s = r.split
    t = Table(title=f"Fees routed by sweep_fees (as batch {s.batch_id})")
    for col in ("piece", "USDC", "share of fees"):
        t.add_column(col, justify="right")
    for name, amount in (("fees routed", s.fees), ("insurance fund", s.insurance),
                         ("net revenue", s.net_revenue), ("stakers", s.stakers),
                         ("buyback", s.buyback), ("treasury", s.treasury),
                         ("insurance surplus swept", s.surplus_to_insurance)):
        t.add_row(name, _units(amount, dec), f"{100 * amount / s.fees:.2f}%")
    return t


def _staker_table(r: EconomyResult, dec: int) -> Table:
    t = Table(title="Stakers: granted by the treasury, staked, votes, rewards claimed")
    for col in ("staker", "granted JEX", "staked JEX", "votes JEX", "claimed USDC"):
        t.add_column(col, justify="right")
    for row in r.stakers:
        t.add_row(row.label, _jex(row.granted), _jex(row.staked), _jex(row.votes),
                  _units(row.claimed, dec))
    return t


def _auction_table(r: EconomyResult, dec: int) -> Table:
    t = Table(title=f"Buyback auction {r.auction_id}: lot {_units(r.auction_lot, dec)} USDC, "
                    f"price {_jex(r.auction_start_price)} -> {_jex(r.auction_end_price)} JEX/USDC")
    for col in ("after", "price JEX/USDC", "USDC bought", "JEX paid and burned"):
        t.add_column(col, justify="right")
    for f in r.fills:
        t.add_row(f"{f.elapsed_s / 3600:.1f} h", _jex(f.price), _units(f.usdc, dec), _jex(f.jex))
    return t


def _governance_table(g: GovernanceRun, symbol: str) -> Table:
    t = Table(title=f"Governance proposal {g.proposal_id}: {symbol} taker fee "
                    f"{_bps(g.taker_fee_before)} -> {_bps(g.taker_fee_after)}")
    t.add_column("step")
    t.add_column("value", justify="right")
    for step, value in (("proposer", g.proposer), ("votes for", _jex(g.for_votes)),
                        ("votes against", _jex(g.against_votes)),
                        ("votes abstain", _jex(g.abstain_votes)), ("quorum", _jex(g.quorum)),
                        ("taker fee before", _bps(g.taker_fee_before)),
                        ("taker fee while queued", _bps(g.taker_fee_queued)),
                        ("executable at (s)", str(g.eta)),
                        ("taker fee after execute", _bps(g.taker_fee_after)),
                        ("final state", g.final_state)):
        t.add_row(step, value)
    return t


def print_economy(r: EconomyResult, console: Console, usdc_decimals: int, symbol: str) -> None:
    """The report section: four tables and the key numbers in one line each."""
    dec = usdc_decimals
    console.print(_split_table(r, dec))
    console.print(_staker_table(r, dec))
    console.print(f"staking rewards funded {_units(r.rewards_funded, dec)} USDC, claimed "
                  f"{_units(r.rewards_claimed, dec)} USDC; annualized yield (epoch "
                  f"{r.reward_epoch}) {r.annualized_yield / WAD:.6f} USDC per staked JEX per year")
    if r.fills:  # JEX per USDC x USDC per JEX per year = a yearly rate at the auction's price
        console.print(f"  = {100 * r.annualized_yield * r.fills[-1].price / WAD / WAD:.4f}% a year "
                      f"at the last auction price ({WAD / r.fills[-1].price:.4f} USDC per JEX)")
    console.print(_auction_table(r, dec))
    console.print(f"JEX burned {_jex(r.jex_burned)}; total supply {_jex(r.supply_before)} -> "
                  f"{_jex(r.supply_after)} (-{_jex(r.supply_before - r.supply_after)})")
    console.print(_governance_table(r.governance, symbol))
