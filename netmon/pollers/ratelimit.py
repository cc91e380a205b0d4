"""Per-source token buckets: a flood from one address cannot starve the event loop (issue 14).

Each key (a source address) has a bucket of `burst` tokens refilled at `rate` tokens per
second; a datagram takes one token or is refused. At most `max_keys` buckets are kept, least
recently used first out (a forgotten source starts again with a full bucket). The clock is the
caller's (`loop.time()`), so tests give explicit instants.
"""

from __future__ import annotations

from collections import OrderedDict

__all__ = ["TokenBuckets"]


class TokenBuckets:
    """Token buckets by key: `allow(key, now)` takes a token if there is one (rate in 1/s, burst in tokens)."""

    def __init__(self, rate: float, burst: int, *, max_keys: int = 4096) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._max = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)

    def allow(self, key: str, now: float) -> bool:
        """Take one token from *key*'s bucket at monotonic instant *now* (seconds); tell whether there was one."""
        tokens, at = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + max(now - at, 0.0) * self.rate)
        allowed = tokens >= 1.0
        self._buckets[key] = (tokens - 1.0 if allowed else tokens, max(now, at))  # a clock going back adds nothing
        self._buckets.move_to_end(key)
        while len(self._buckets) > self._max:
            self._buckets.popitem(last=False)
        return allowed
