# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title Governor
@notice JEX governance of the exchange's parameters. A holder with at least
        10,000 JEX of votes (checkpointed at the block before) proposes one
        call; votes weigh by getPastVotes at the proposal's start block; a
        proposal passes with more for than against and for + abstain at or
        above the quorum; it is queued for the timelock, then anyone may
        execute it within the grace period.
@dev Only calls to a whitelist of (target, selector) pairs (parameter
     setters) can be proposed or executed. The deployer fills the whitelist
     and the council's pause target while wiring, then locks them forever;
     targets enforce their own hard bounds, so no vote can set a parameter
     outside them. Council: accounts whose checkpointed votes at the previous
     block exceed 1% of the supply then; a council member may trigger the
     one pause call (pause new risk on the Exchange) and nothing else.
     Proposal states follow OpenZeppelin's Governor numbering.
"""

interface IVotes:
    def getPastVotes(account: address, timepoint: uint256) -> uint256: view
    def getPastTotalSupply(timepoint: uint256) -> uint256: view


WAD: constant(uint256) = 10**18
PROPOSAL_THRESHOLD: constant(uint256) = 10_000 * 10**18
# the council: votes strictly above 1% of the supply
COUNCIL_DIVISOR: constant(uint256) = 100
GRACE_PERIOD: constant(uint256) = 14 * 86400
MAX_CALLDATA: constant(uint256) = 4 + 32 * 8
MAX_VOTING_DELAY: constant(uint256) = 7 * 7200
MIN_VOTING_PERIOD: constant(uint256) = 5
MAX_VOTING_PERIOD: constant(uint256) = 14 * 7200
MIN_QUORUM: constant(uint256) = 10**16
MAX_QUORUM: constant(uint256) = 2 * 10**17
MIN_TIMELOCK: constant(uint256) = 3600
MAX_TIMELOCK: constant(uint256) = 30 * 86400

# proposal states (OpenZeppelin IGovernor.ProposalState order)
PENDING: constant(uint8) = 0
ACTIVE: constant(uint8) = 1
CANCELED: constant(uint8) = 2
DEFEATED: constant(uint8) = 3
SUCCEEDED: constant(uint8) = 4
QUEUED: constant(uint8) = 5
EXPIRED: constant(uint8) = 6
EXECUTED: constant(uint8) = 7

VOTE_AGAINST: constant(uint8) = 0
VOTE_FOR: constant(uint8) = 1
VOTE_ABSTAIN: constant(uint8) = 2


struct Proposal:
    proposer: address
    target: address
    data: Bytes[MAX_CALLDATA]
    start_block: uint256
    end_block: uint256
    for_votes: uint256
    against_votes: uint256
    abstain_votes: uint256
    eta: uint256
    executed: bool
    canceled: bool


event ProposalCreated:
    proposal_id: indexed(uint256)
    proposer: indexed(address)
    target: indexed(address)
    data: Bytes[MAX_CALLDATA]
    start_block: uint256
    end_block: uint256
    description: String[256]


event VoteCast:
    voter: indexed(address)
    proposal_id: indexed(uint256)
    support: uint8
    weight: uint256


event ProposalQueued:
    proposal_id: indexed(uint256)
    eta: uint256


event ProposalExecuted:
    proposal_id: indexed(uint256)


event ProposalCanceled:
    proposal_id: indexed(uint256)


event UpdateWhitelist:
    target: indexed(address)
    selector: indexed(bytes4)
    allowed: bool


event UpdatePauseTarget:
    target: address
    selector: bytes4


event WhitelistLocked:
    admin: address


event CouncilPaused:
    member: indexed(address)
    target: indexed(address)


token: public(immutable(IVotes))
voting_delay: public(immutable(uint256))
voting_period: public(immutable(uint256))
quorum_fraction: public(immutable(uint256))
timelock_delay: public(immutable(uint256))

# wires the whitelist and pause target, then locks; empty afterwards
admin: public(address)
whitelisted: public(HashMap[address, HashMap[bytes4, bool]])
pause_target: public(address)
pause_selector: public(bytes4)

proposal_count: public(uint256)
proposals: public(HashMap[uint256, Proposal])
has_voted: public(HashMap[uint256, HashMap[address, bool]])


@deploy
def __init__(token_: IVotes, voting_delay_: uint256, voting_period_: uint256, quorum_fraction_: uint256, timelock_delay_: uint256):
    """
    @notice Deploy governance over the JEX token's votes.
    @param token_ JexToken (getPastVotes / getPastTotalSupply by block).
    @param voting_delay_ Blocks from proposal to the start block, 1 to 50,400.
    @param voting_period_ Blocks of voting, 5 to 100,800.
    @param quorum_fraction_ For + abstain needed, WAD fraction of supply, 1% to 20%.
    @param timelock_delay_ Seconds from queue to execution, 1 hour to 30 days.
    """
    assert voting_delay_ >= 1 and voting_delay_ <= MAX_VOTING_DELAY, "governor: voting delay out of bounds"
    assert voting_period_ >= MIN_VOTING_PERIOD and voting_period_ <= MAX_VOTING_PERIOD, "governor: voting period out of bounds"
    assert quorum_fraction_ >= MIN_QUORUM and quorum_fraction_ <= MAX_QUORUM, "governor: quorum out of bounds"
    assert timelock_delay_ >= MIN_TIMELOCK and timelock_delay_ <= MAX_TIMELOCK, "governor: timelock out of bounds"
    token = token_
    voting_delay = voting_delay_
    voting_period = voting_period_
    quorum_fraction = quorum_fraction_
    timelock_delay = timelock_delay_
    self.admin = msg.sender


@external
def set_whitelisted(target: address, selector: bytes4, allowed: bool):
    """
    @notice Allow or disallow proposals calling `selector` on `target` (admin, before lock).
    @param target A contract whose owner is this Governor.
    @param selector The setter's 4-byte selector.
    @param allowed Whether proposals may call it.
    """
    assert msg.sender == self.admin, "governor: caller is not the admin"
    assert target != empty(address), "governor: zero address"
    self.whitelisted[target][selector] = allowed
    log UpdateWhitelist(target=target, selector=selector, allowed=allowed)


@external
def set_pause_target(target: address, selector: bytes4):
    """
    @notice Set the one call the council may make: pause new risk (admin, before lock).
    @param target The Exchange (which grants this Governor its guardian role).
    @param selector Selector of its argument-less pause-new-risk function.
    """
    assert msg.sender == self.admin, "governor: caller is not the admin"
    assert target != empty(address), "governor: zero address"
    self.pause_target = target
    self.pause_selector = selector
    log UpdatePauseTarget(target=target, selector=selector)


@external
def lock_whitelist():
    """
    @notice End the admin's powers: the whitelist and pause target are final.
    """
    assert msg.sender == self.admin, "governor: caller is not the admin"
    self.admin = empty(address)
    log WhitelistLocked(admin=msg.sender)


@external
def propose(target: address, data: Bytes[MAX_CALLDATA], description: String[256]) -> uint256:
    """
    @notice Propose one whitelisted call.
    @param target The contract to call.
    @param data Its calldata (selector + arguments).
    @param description Human-readable reason, kept in the event.
    @return uint256 The proposal id (1, 2, ...).
    """
    assert len(data) >= 4, "governor: calldata too short"
    assert self.whitelisted[target][convert(slice(data, 0, 4), bytes4)], "governor: call not whitelisted"
    votes: uint256 = staticcall token.getPastVotes(msg.sender, block.number - 1)
    assert votes >= PROPOSAL_THRESHOLD, "governor: proposer votes below threshold"
    proposal_id: uint256 = self.proposal_count + 1
    self.proposal_count = proposal_id
    start: uint256 = block.number + voting_delay
    end: uint256 = start + voting_period
    self.proposals[proposal_id] = Proposal(
        proposer=msg.sender, target=target, data=data, start_block=start, end_block=end,
        for_votes=0, against_votes=0, abstain_votes=0, eta=0, executed=False, canceled=False,
    )
    log ProposalCreated(
        proposal_id=proposal_id, proposer=msg.sender, target=target, data=data,
        start_block=start, end_block=end, description=description,
    )
    return proposal_id


@external
def cast_vote(proposal_id: uint256, support: uint8) -> uint256:
    """
    @notice Vote with your votes as of the proposal's start block.
    @param proposal_id The proposal.
    @param support 0 against, 1 for, 2 abstain.
    @return uint256 The weight counted, JEX wei.
    """
    assert self._state(proposal_id) == ACTIVE, "governor: voting is closed"
    assert support <= VOTE_ABSTAIN, "governor: invalid vote type"
    assert not self.has_voted[proposal_id][msg.sender], "governor: already voted"
    weight: uint256 = staticcall token.getPastVotes(msg.sender, self.proposals[proposal_id].start_block)
    assert weight > 0, "governor: no votes"
    self.has_voted[proposal_id][msg.sender] = True
    if support == VOTE_FOR:
        self.proposals[proposal_id].for_votes += weight
    elif support == VOTE_AGAINST:
        self.proposals[proposal_id].against_votes += weight
    else:
        self.proposals[proposal_id].abstain_votes += weight
    log VoteCast(voter=msg.sender, proposal_id=proposal_id, support=support, weight=weight)
    return weight


@external
def queue(proposal_id: uint256) -> uint256:
    """
    @notice Start the timelock of a proposal that passed; anyone may call.
    @param proposal_id The proposal.
    @return uint256 The earliest execution timestamp.
    """
    assert self._state(proposal_id) == SUCCEEDED, "governor: proposal not successful"
    eta: uint256 = block.timestamp + timelock_delay
    self.proposals[proposal_id].eta = eta
    log ProposalQueued(proposal_id=proposal_id, eta=eta)
    return eta


@external
def execute(proposal_id: uint256):
    """
    @notice Make a queued proposal's call once its timelock is over; anyone may call.
    @dev The target's own revert (e.g. a bound) bubbles up and nothing changes.
    @param proposal_id The proposal.
    """
    assert self._state(proposal_id) == QUEUED, "governor: proposal not queued"
    p: Proposal = self.proposals[proposal_id]
    assert block.timestamp >= p.eta, "governor: timelock not over"
    assert self.whitelisted[p.target][convert(slice(p.data, 0, 4), bytes4)], "governor: call not whitelisted"
    self.proposals[proposal_id].executed = True
    raw_call(p.target, p.data)
    log ProposalExecuted(proposal_id=proposal_id)


@external
def cancel(proposal_id: uint256):
    """
    @notice The proposer withdraws its proposal before execution.
    @param proposal_id The proposal.
    """
    state: uint8 = self._state(proposal_id)
    assert msg.sender == self.proposals[proposal_id].proposer, "governor: caller is not the proposer"
    assert state in [PENDING, ACTIVE, SUCCEEDED, QUEUED], "governor: proposal not cancelable"
    self.proposals[proposal_id].canceled = True
    log ProposalCanceled(proposal_id=proposal_id)


@external
def council_pause():
    """
    @notice A council member pauses new risk on the Exchange (withdrawals stay open).
    """
    assert self._is_council(msg.sender), "governor: caller is not on the council"
    target: address = self.pause_target
    assert target != empty(address), "governor: no pause target"
    raw_call(target, concat(self.pause_selector, b""))
    log CouncilPaused(member=msg.sender, target=target)


@external
@view
def state(proposal_id: uint256) -> uint8:
    """
    @notice The proposal's state: 0 pending, 1 active, 2 canceled, 3 defeated,
            4 succeeded, 5 queued, 6 expired, 7 executed.
    @param proposal_id The proposal.
    @return uint8 State.
    """
    return self._state(proposal_id)


@external
@view
def quorum(block_number: uint256) -> uint256:
    """
    @notice Votes (for + abstain) a proposal starting at `block_number` needs.
    @param block_number A past block.
    @return uint256 JEX wei, rounded down.
    """
    return self._quorum(block_number)


@external
@view
def is_council(account: address) -> bool:
    """
    @notice Whether `account`'s votes at the previous block exceed 1% of the supply then.
    @param account The holder.
    @return bool Council membership.
    """
    return self._is_council(account)


@external
@view
def proposal_threshold() -> uint256:
    """
    @notice Votes a proposer needs, JEX wei.
    @return uint256 10,000 JEX.
    """
    return PROPOSAL_THRESHOLD


@internal
@view
def _quorum(block_number: uint256) -> uint256:
    return staticcall token.getPastTotalSupply(block_number) * quorum_fraction // WAD


@internal
@view
def _is_council(account: address) -> bool:
    before: uint256 = block.number - 1
    votes: uint256 = staticcall token.getPastVotes(account, before)
    return votes * COUNCIL_DIVISOR > staticcall token.getPastTotalSupply(before)


@internal
@view
def _state(proposal_id: uint256) -> uint8:
    assert proposal_id > 0 and proposal_id <= self.proposal_count, "governor: unknown proposal"
    p: Proposal = self.proposals[proposal_id]
    if p.executed:
        return EXECUTED
    if p.canceled:
        return CANCELED
    if block.number <= p.start_block:
        return PENDING
    if block.number <= p.end_block:
        return ACTIVE
    passed: bool = p.for_votes > p.against_votes and p.for_votes + p.abstain_votes >= self._quorum(p.start_block)
    if not passed:
        return DEFEATED
    if p.eta == 0:
        return SUCCEEDED
    if block.timestamp >= p.eta + GRACE_PERIOD:
        return EXPIRED
    return QUEUED
