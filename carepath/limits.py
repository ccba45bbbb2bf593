"""Counters for abuse limits (the API's request throttle, sign-in attempts on the web and the API),
kept in the Redis of `CACHE_URL` so every web process shares them; in one process's cache without it
(development, tests).

A count is an atomic increment of a key per fixed window (`INCR` plus `EXPIRE … NX`, one round
trip), so requests arriving together are each counted once. Sign-in attempts are counted *before*
the password is checked and given back when it was right: checking first and counting failures
after let every guess of a parallel burst pass the check before any failure was counted."""

import functools
import logging
import time

import redis
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

# Give a count back only if its key still exists (a key that expired in between is not recreated).
_GIVE_BACK = "if redis.call('exists', KEYS[1]) == 1 then return redis.call('decr', KEYS[1]) end return 0"


def hit(key: str, seconds: int) -> int:
    """Count one event in `key`, which lives `seconds` from its first event; returns the count. If
    Redis is unreachable the event counts as the first, and a warning is logged: an abuse limit must
    not take the service down with it."""
    client = _redis()
    if client is None:
        cache.add(key, 0, seconds + 1)
        try:
            return cache.incr(key)
        except ValueError:  # expired between the two calls: this is the window's first event
            cache.add(key, 1, seconds + 1)
            return 1
    try:
        pipe = client.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, seconds + 1, nx=True)
        count, _ = pipe.execute()
    except redis.RedisError:
        logger.warning("Abuse limit: Redis unavailable, %s not counted", key.split(":", 1)[0], exc_info=True)
        return 1
    return count


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
    client = _redis()
    if client is None:
        cache.delete(key)
        return
    try:
        client.delete(key)
    except redis.RedisError:
        logger.warning("Abuse limit: Redis unavailable, a count not forgotten", exc_info=True)


class Attempts:
    """Sign-in attempts for one account and from one address, each with its limit, in fixed windows
    of `seconds`. `begin()` counts this attempt and says whether either is over its limit;
    `succeeded()` forgets the account's failures (its owner knows the password) and gives the
    address its attempt back (an address keeps the failures of every account tried from it)."""

    def __init__(self, *, account: tuple[str, int], address: tuple[str, int], seconds: int):
        now = time.time()
        window = int(now // seconds)
        self.account, self.address = (f"{account[0]}:{window}", account[1]), (f"{address[0]}:{window}", address[1])
        self.seconds, self.retry_after = seconds, (window + 1) * seconds - now

    def begin(self) -> float | None:
        """Count this attempt; None when it may go ahead, else the seconds until the window ends."""
        over = [hit(key, self.seconds) > limit for key, limit in (self.account, self.address)]  # count both
        return self.retry_after if any(over) else None

    def succeeded(self) -> None:
        forget(self.account[0])
        give_back(self.address[0])


@functools.cache
def _redis_for(url: str):
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)


def _redis():
    """The Redis of `CACHE_URL` (production: shared by every web process), or None."""
    url = getattr(settings, "CACHE_URL", "")
    return _redis_for(url) if url.startswith(("redis://", "rediss://")) else None
