"""Abuse limits (issue 3 §8): failed token requests per username and per address, and a
per-client request rate. Both answer 429 problem+json with Retry-After (problems.py)."""

import hashlib
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class ClientRateThrottle(UserRateThrottle):
    """Per signed-in client (user); rate from settings `API_THROTTLE_RATES['client']`."""

    scope = "client"


class AnonymousRateThrottle(AnonRateThrottle):
    scope = "anon"


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
