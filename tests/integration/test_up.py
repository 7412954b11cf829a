"""`perpx up` (engine.chain.up.run_up) on py-evm: deploys, feeds index prices from
the recorded feed, runs the node, and stops with everything settled."""

from engine.chain.up import run_up
from engine.core.markets import default_markets
from engine.core.wad import WAD


def test_run_up__a_few_seconds__marks_from_recorded_feed_and_clean_stop(tmp_path):
    seen: dict[int, int] = {}

    def on_tick(node):
        for spec in default_markets():
            mark = node.sequencer.query(lambda e, m=spec.market_id: e.ledger.marks.get(m))
            if mark:
                seen[spec.market_id] = mark

    stats: dict = {}
    code = run_up("pyevm", tmp_path / "data", tick_s=0.5, max_seconds=6, on_tick=on_tick,
                  out_dir=tmp_path / "out", stats_out=stats)
    assert code == 0
    assert stats["halted"] is None
    # the recorded feed starts near 2,300 USD (ETH) and 42,000 USD (BTC)
    assert 2_200 * WAD < seen[1] < 2_400 * WAD
    assert 41_000 * WAD < seen[2] < 43_000 * WAD
    assert (tmp_path / "out" / "deployment.json").exists()
