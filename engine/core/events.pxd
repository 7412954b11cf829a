# engine/core/events.py: every event is a cclass dataclass deriving from Value; the
# order path's events are built by these constructors, which fill the C fields.
from engine.core.value cimport Value

cpdef order_accepted(seq, ts_ms, order_hash, trader, market, is_buy, size, limit_price,
                     trigger_price, flags, pending_trigger)
cpdef order_cancelled(seq, ts_ms, order_hash, trader, market, remaining, reason)
cpdef cancel_rejected(seq, ts_ms, account, order_hash, code, message)
cpdef trade_executed(seq, ts_ms, market, maker, taker, maker_order, taker_order, taker_is_buy,
                     size, price, maker_fee, taker_fee, liquidation)
