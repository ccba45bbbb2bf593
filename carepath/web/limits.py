"""Counters for abuse limits (the API's request throttle, sign-in attempts on the web and the API),
kept in the Redis of `CACHE_URL` so every web process shares them; in one process's cache without it
(development, tests).

A count is an atomic increment of a key per fixed window (`INCRBY` plus `EXPIRE … NX`, one round
trip), so requests arriving together are each counted once; the request throttle takes its counts
in leases of up to 10 (`Leases`). Sign-in attempts are counted *before*
the password is checked and given back when it was right: checking first and counting failures
after let every guess of a parallel burst pass the check before any failure was counted."""

import functools
import hashlib
import logging
import threading
import time

import redis
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

# Give a count back only if its key still exists (a key that expired in between is not recreated).
_GIVE_BACK = "if redis.call('exists', KEYS[1]) == 1 then return redis.call('decr', KEYS[1]) end return 0"


def hit(key: str, seconds: int, n: int = 1) -> int:
    """Count `n` events in `key`, which lives `seconds` from its first event; returns the count. If
    Redis is unreachable the events count as the first, and a warning is logged: an abuse limit
    must not take the service down with it."""
    client = _redis()
    if client is None:
        cache.add(key, 0, seconds + 1)
        try:
            return cache.incr(key, n)
        except ValueError:  # expired between the two calls: these are the window's first events
            cache.add(key, n, seconds + 1)
            return n
    try:
        pipe = client.pipeline(transaction=False)
        pipe.incrby(key, n)
        pipe.expire(key, seconds + 1, nx=True)
        count, _ = pipe.execute()
    except redis.RedisError:
        logger.warning("Abuse limit: Redis unavailable, %s not counted", key.split(":", 1)[0], exc_info=True)
        return n
    return count


class Leases:
    """Slots of a shared count that this process has taken and not used yet, so that a busy client's
    requests reach Redis once per lease, not once each. A lease is `INCRBY n` on the window's key;
    its slots past the limit are refused, so no more than the limit are ever allowed in a window,
    across every process. The price: slots a process took and did not use count as used, up to
    (n - 1) per process and window (n is a hundredth of the limit, at most 10: 1,200 a minute
    leases 10 at a time, so a client may be refused up to 9 requests per web process early)."""

    MAX = 10

    def __init__(self):
        self._left: dict[str, int] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._left.clear()

    def take(self, key: str, seconds: int, limit: int) -> bool:
        """May one more event go ahead in `key` (a window's key, living `seconds`), given `limit`?"""
        with self._lock:
            left = self._left.get(key, 0)
            if left:
                if left > 0:
                    self._left[key] = left - 1
                return left > 0  # -1: the window's count is spent; refused here, not in Redis
        n = max(1, min(self.MAX, limit // 100))
        last = hit(key, seconds, n)  # this lease holds the shared count's slots last - n + 1 … last
        granted = max(0, min(n, limit - (last - n)))
        if granted != 1:
            with self._lock:
                if len(self._left) > 10_000:  # keys of past windows: drop them all now and then
                    self._left.clear()
                self._left[key] = -1 if granted == 0 else self._left.get(key, 0) + granted - 1
        return granted > 0


LEASES = Leases()


def give_back(key: str) -> None:
    """Undo one `hit` of `key` (nothing if the key has expired meanwhile)."""
    client = _redis()
    if client is None:
        try:
            cache.decr(key)
        except ValueError:
            pass
        return
    try:
        client.eval(_GIVE_BACK, 1, key)
    except redis.RedisError:
        logger.warning("Abuse limit: Redis unavailable, a count not given back", exc_info=True)


def forget(key: str) -> None:
    """Drop `key`'s count."""
    client = _redis()
    if client is None:
        cache.delete(key)
        return
    try:
        client.delete(key)
    except redis.RedisError:
        logger.warning("Abuse limit: Redis unavailable, a count not forgotten", exc_info=True)


def account_key(username: str) -> str:
    """A username as a cache-key part: hashed, since a username may hold any character and cache keys
    must stay plain ASCII; compared the way sign-in compares it (trimmed, any case)."""
    return hashlib.sha256(username.strip().lower()[:150].encode()).hexdigest()


class Attempts:
    """Sign-in attempts of one `scope` ("web", "api") for one username (guessing one account's
    password from many addresses) and from one client address (trying many accounts from one
    address), each with its limit, in fixed windows of `seconds`. `begin()` counts this attempt and
    says whether either is over its limit; `succeeded()` forgets the account's failures (its owner
    knows the password) and gives the address its attempt back (an address keeps the failures of
    every account tried from it).

    `trusted` (a browser this account has signed in from before: carepath/web/signin.py, "device
    cookie") leaves the address out: such an attempt is neither counted against the address nor
    refused by its lock, only by the account's own (docs/security.md, "Sign-in limits")."""

    def __init__(
        self,
        scope: str,
        *,
        username: str,
        address: str,
        limits: tuple[int, int],
        seconds: int,
        trusted: bool = False,
    ):
        now = time.time()
        window = int(now // seconds)
        self.account = (f"{scope}:login-fail:user:{account_key(username)}:{window}", limits[0])
        self.address = None if trusted else (f"{scope}:login-fail:addr:{address}:{window}", limits[1])
        self.seconds, self.retry_after = seconds, (window + 1) * seconds - now

    def begin(self) -> float | None:
        """Count this attempt; None when it may go ahead, else the seconds until the window ends."""
        counted = [c for c in (self.account, self.address) if c is not None]
        over = [hit(key, self.seconds) > limit for key, limit in counted]  # count both
        return self.retry_after if any(over) else None

    def succeeded(self) -> None:
        forget(self.account[0])
        if self.address is not None:
            give_back(self.address[0])


@functools.cache
def _redis_for(url: str):
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)


def _redis():
    """The Redis of `CACHE_URL` (production: shared by every web process), or None."""
    url = getattr(settings, "CACHE_URL", "")
    return _redis_for(url) if url.startswith(("redis://", "rediss://")) else None
