"""What the demo's report shows of settlement, recorded from the keepers of an ExchangeNode.

The demo settles through the same path as `perpx up` and the end-to-end
tests: `engine.chain.node_runner.ExchangeNode` (batcher, keepers with their
outbox, liquidator, reconciler). This module only listens: `SettlementLog`
subscribes to the node's keeper and keeps one `BatchRecord` per settled batch
and one `FundingPost` per funding interval posted, with the gas of each
receipt. Units: WAD for rates and marks, chain seconds for timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.chain.batcher import PostBatch, PostFunding


@dataclass
class BatchRecord:
    """One settled batch: id, journal range, fills, gas used, chain timestamp (s)."""

    batch_id: int
    first_seq: int
    last_seq: int
    fills: int
    liquidation_fills: int
    gas: int
    timestamp: int


@dataclass
class FundingPost:
    """One funding interval posted on chain: market, timestamp (s), rate, mark, gas."""

    market: int
    funding_ts: int
    rate: int
    mark: int
    gas: int


@dataclass
class SettlementLog:
    """Batches and funding posts as their receipts arrive (attach with `attach(keeper)`)."""

    batches: list[BatchRecord] = field(default_factory=list)
    funding: list[FundingPost] = field(default_factory=list)

    def attach(self, keeper) -> SettlementLog:
        """Listen to `keeper` (engine.chain.keeper.Keeper) from now on."""
        keeper.on_batch.append(self.on_batch)
        keeper.on_funding.append(self.on_funding)
        return self

    def on_batch(self, batch: PostBatch, receipt: dict) -> None:
        liquidations = sum(1 for f in batch.fills if f.taker.order.liquidation)
        self.batches.append(BatchRecord(batch.batch_id, batch.first_seq, batch.last_seq,
                                        len(batch.fills), liquidations, receipt["gasUsed"],
                                        batch.timestamp))

    def on_funding(self, post: PostFunding, receipt: dict) -> None:
        self.funding.append(FundingPost(post.market, post.funding_ts_s, post.rate, post.mark,
                                        receipt["gasUsed"]))

    @property
    def fills(self) -> int:
        return sum(b.fills for b in self.batches)

    @property
    def settle_gas(self) -> int:
        return sum(b.gas for b in self.batches)
