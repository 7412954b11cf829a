"""What the API reads from the chain: the last settled batch and its transaction.

`ChainView(exchange)` wraps a web3 contract of the Exchange (any node: py-evm,
anvil, a real network); `last_batch()` answers the `get_last_batch` method from
`Exchange.last_batch_id()` and the matching `BatchSettled` log.
"""

from __future__ import annotations

from typing import Any

from engine.api import wire


class ChainView:
    """Read-only view of the Exchange contract for the API."""

    def __init__(self, exchange: Any, lookback_blocks: int = 100_000) -> None:
        self.exchange = exchange
        self.lookback = lookback_blocks

    def last_batch(self) -> dict:
        """{batch_id, first_seq, last_seq, journal_digest, tx_hash, block_number}; batch_id 0
        and nulls before the first batch."""
        batch_id = self.exchange.functions.last_batch_id().call()
        out: dict = {"batch_id": batch_id, "first_seq": None, "last_seq": None,
                     "journal_digest": None, "tx_hash": None, "block_number": None}
        if batch_id == 0:
            return out
        w3 = self.exchange.w3
        head = w3.eth.block_number
        logs = self.exchange.events.BatchSettled().get_logs(
            from_block=max(0, head - self.lookback), to_block=head,
            argument_filters={"batch_id": batch_id})
        if logs:
            log = logs[-1]
            out.update(first_seq=log["args"]["first_seq"], last_seq=log["args"]["last_seq"],
                       journal_digest=wire.hex0x(bytes(log["args"]["journal_digest"])),
                       tx_hash=wire.hex0x(bytes(log["transactionHash"])),
                       block_number=log["blockNumber"])
        return out
