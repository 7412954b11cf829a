"""Write tests/vectors/parity.json: worked vectors for the shared money rules.

The expected values are computed here with exact rationals (fractions.Fraction)
and explicit floor/ceil, independently of engine/core/rules.py, so the engine
and the contracts are both checked against a third, plain statement of the
rules in docs/rules.md. Run: python scripts/gen_parity_vectors.py
"""

from __future__ import annotations

import json
import math
import random
from fractions import Fraction as F
from pathlib import Path

WAD = 10**18
OUT = Path(__file__).resolve().parent.parent / "tests" / "vectors" / "parity.json"


def floor(q: F) -> int:
    return math.floor(q)


def ceil(q: F) -> int:
    return math.ceil(q)


def toward_zero(q: F) -> int:
    return math.trunc(q)


def trade_cash(size: int, price: int) -> dict:
    exact = F(size * price, WAD)
    pays, receives = ceil(exact), floor(exact)
    return {"buyer_pays": pays, "seller_receives": receives, "dust": pays - receives}


def notional(size: int, price: int) -> int:
    return floor(F(abs(size) * price, WAD))


def fee(size: int, price: int, rate: int) -> int:
    return ceil(F(notional(size, price) * rate, WAD))


def position_value(size: int, mark: int) -> int:
    return floor(F(size * mark, WAD))


def funding_owed(size: int, now: int, last: int) -> int:
    return ceil(F(size * (now - last), WAD))


def index_step(rate: int, mark: int) -> int:
    return toward_zero(F(rate * mark, WAD))


def requirement(size: int, mark: int, frac: int) -> int:
    return ceil(F(ceil(F(abs(size) * mark, WAD)) * frac, WAD))


def bankruptcy(size: int, mark: int, eq: int) -> int:
    # equity after closing all at p is eq + size * (p - mark) / WAD == 0
    p = F(mark) - F(eq * WAD, size)
    if p <= 0:
        return 0
    return ceil(p) if size > 0 else floor(p)


def main() -> None:
    rng = random.Random(20261125)
    prices = [1, 3, 10**18 // 3, 2000 * WAD + 1, 65_432_100_000_000_000_000_000, 7 * 10**16 + 3]
    sizes = [1, 7, WAD // 1000, 3 * WAD + 333, 12_345_678_901_234_567, 250 * WAD]
    for _ in range(20):
        prices.append(rng.randrange(1, 100_000 * WAD))
        sizes.append(rng.randrange(1, 1_000 * WAD))
    rates = [0, 1, 2 * 10**14, 5 * 10**14, 10**15 + 7, 5 * 10**16]
    out: dict[str, list] = {k: [] for k in (
        "trade_cash", "fee", "position_value", "funding_owed", "funding_index_step",
        "margin_requirement", "equity", "bankruptcy_price", "liquidation_fee")}
    for s, p in zip(sizes, prices):
        out["trade_cash"].append({"size": s, "price": p, **trade_cash(s, p)})
        for r in rates[:: 2 if s % 2 else 1]:
            out["fee"].append({"size": s, "price": p, "rate": r, "fee": fee(s, p, r)})
        for signed in (s, -s):
            out["position_value"].append({"size": signed, "mark": p, "value": position_value(signed, p)})
    for _ in range(40):
        s = rng.choice([1, -1]) * rng.randrange(1, 500 * WAD)
        last = rng.randrange(-10**21, 10**21)
        now = last + rng.randrange(-10**19, 10**19)
        out["funding_owed"].append({"size": s, "index_now": now, "index_last": last,
                                    "owed": funding_owed(s, now, last)})
    for rate in (0, 1, -1, 10**14, -10**14, 225 * 10**14, -225 * 10**14, 7 * 10**12 + 1):
        for mark in (1, 3333 * WAD + 7, 65_000 * WAD, 10**18 // 7):
            out["funding_index_step"].append({"rate": rate, "mark": mark,
                                              "step": index_step(rate, mark)})
    for s, p in zip(sizes, prices):
        for frac in (3 * 10**16, 5 * 10**16, 10**16 // 2 + 1):
            for signed in (s, -s):
                out["margin_requirement"].append({"size": signed, "mark": p, "fraction": frac,
                                                  "requirement": requirement(signed, p, frac)})
    for _ in range(30):
        cash = rng.randrange(-10**24, 10**24)
        positions = []
        total = F(cash)
        for _m in range(rng.randrange(0, 4)):
            s = rng.choice([1, -1]) * rng.randrange(1, 100 * WAD)
            mark = rng.randrange(1, 70_000 * WAD)
            last = rng.randrange(-10**21, 10**21)
            now = last + rng.randrange(-10**19, 10**19)
            positions.append({"size": s, "mark": mark, "index_now": now, "index_last": last})
            total += position_value(s, mark) - funding_owed(s, now, last)
        out["equity"].append({"cash": cash, "positions": positions, "equity": int(total)})
    for _ in range(30):
        s = rng.choice([1, -1]) * rng.randrange(1, 100 * WAD)
        mark = rng.randrange(WAD, 70_000 * WAD)
        eq = rng.randrange(-notional(s, mark) // 10, notional(s, mark) // 5 + 1)
        out["bankruptcy_price"].append({"size": s, "mark": mark, "equity": eq,
                                        "price": bankruptcy(s, mark, eq)})
    for _ in range(20):
        s = rng.randrange(1, 100 * WAD)
        p = rng.randrange(WAD, 70_000 * WAD)
        r = 5 * 10**15
        eq_after = rng.randrange(-10**20, fee(s, p, r) * 2 + 1)
        out["liquidation_fee"].append({"size": s, "price": p, "rate": r, "equity_after": eq_after,
                                       "fee": min(fee(s, p, r), max(0, eq_after))})
    doc = {"_about": "Worked vectors for docs/rules.md; generated by scripts/gen_parity_vectors.py "
                     "with exact rationals. Loaded by tests/engine/test_rules_parity.py and "
                     "tests/contracts/test_parity.py. Integers are WAD (1e18).", **out}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {OUT} ({sum(len(v) for v in out.values())} vectors)")


if __name__ == "__main__":
    main()
