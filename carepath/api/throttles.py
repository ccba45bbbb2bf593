"""Abuse limits (issue 3 §8): failed token requests per username and per address, and a
per-client request rate. Both answer 429 problem+json with Retry-After (problems.py)."""

import functools
import hashlib
import logging
import time

import redis
from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

logger = logging.getLogger(__name__)


class CountingThrottle(SimpleRateThrottle):
    """DRF's rate throttle, counting instead of logging: at most N requests per fixed window of the
    rate's duration, counted with one atomic increment. DRF's own keeps a list of every request's
    time in the cache, read and written back whole on each request: on Redis ~0.5 ms a request, a
    list of up to N entries, and two requests at once could each write back a list missing the
    other. A window's count is `INCR` plus `EXPIRE … NX` in one round trip (docs/decisions.md,
    "Request throttle"); a client may send up to 2N across a window's edge, never more."""

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        now = self.timer()
        window = int(now // self.duration)
        self.wait_seconds = (window + 1) * self.duration - now
        return hit(f"{self.key}:{window}", self.duration) <= self.num_requests

    def wait(self):
        return self.wait_seconds


class ClientRateThrottle(CountingThrottle, UserRateThrottle):
    """Per signed-in client (user); rate from settings `DEFAULT_THROTTLE_RATES['client']`."""

    scope = "client"


class AnonymousRateThrottle(CountingThrottle, AnonRateThrottle):
    scope = "anon"


def hit(key: str, seconds: int) -> int:
    """Count one request in `key`, which lives `seconds` from its first request; returns the count."""
    client = _redis()
    if client is None:  # one process's memory (development, tests): the cache's own increment
        cache.add(key, 0, seconds + 1)
        try:
            return cache.incr(key)
        except ValueError:  # expired between the two calls: this is the window's first request
            cache.add(key, 1, seconds + 1)
            return 1
    try:
        pipe = client.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, seconds + 1, nx=True)
        count, _ = pipe.execute()
    except redis.RedisError:
        # an abuse limit must not take the API down with it: counted as the first request, logged
        logger.warning("Request throttle: Redis unavailable, request not counted", exc_info=True)
        return 1
    return count


@functools.cache
def _redis_for(url: str):
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)


def _redis():
    """The Redis of `CACHE_URL` (production: shared by every web process), or None."""
    url = getattr(settings, "CACHE_URL", "")
    return _redis_for(url) if url.startswith(("redis://", "rediss://")) else None


class FailedLoginThrottle:
    """Counts failures only (a user who knows their password is never slowed down); sliding window.

    Keys: the username tried (guessing one account's password from many addresses) and the client
    address (trying many accounts from one address)."""

    def __init__(self, *, username: str, address: str):
        limit, window = settings.API_FAILED_LOGIN_LIMIT
        self.limit, self.window = limit, window
        # hashed: a username may hold any character, and cache keys must stay plain ASCII
        user_key = hashlib.sha256(username.lower()[:150].encode()).hexdigest()
        self.keys = [f"api:login-fail:user:{user_key}", f"api:login-fail:addr:{address}"]

    def _history(self, key: str, now: float) -> list[float]:
        return [t for t in cache.get(key, []) if t > now - self.window]

    def wait(self) -> float | None:
        """Seconds until another attempt is allowed, or None when allowed now."""
        now = time.time()
        waits = []
        for key in self.keys:
            history = self._history(key, now)
            if len(history) >= self.limit:
                waits.append(min(history) + self.window - now)
        return max(waits) if waits else None

    def record_failure(self) -> None:
        now = time.time()
        for key in self.keys:
            cache.set(key, [*self._history(key, now), now][-self.limit :], self.window)
