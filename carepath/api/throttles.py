"""Abuse limits (issue 3 §8): token requests per username and per address, and a per-client request
rate. Both answer 429 problem+json with Retry-After (problems.py); the counters are carepath/web/limits.py."""

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

from carepath.web import limits
from carepath.web.limits import Attempts


class CountingThrottle(SimpleRateThrottle):
    """DRF's rate throttle, counting instead of logging: at most N requests per fixed window of the
    rate's duration, counted with one atomic increment. DRF's own keeps a list of every request's
    time in the cache, read and written back whole on each request: on Redis ~0.5 ms a request, a
    list of up to N entries, and two requests at once could each write back a list missing the
    other. A window's count is taken in leases (`carepath.web.limits.Leases`; docs/decisions.md,
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
        return limits.LEASES.take(f"{self.key}:{window}", self.duration, self.num_requests)

    def wait(self):
        return self.wait_seconds


class ClientRateThrottle(CountingThrottle, UserRateThrottle):
    """Per signed-in client (user); rate from settings `DEFAULT_THROTTLE_RATES['client']`."""

    scope = "client"


class AnonymousRateThrottle(CountingThrottle, AnonRateThrottle):
    scope = "anon"


def failed_sign_ins(*, username: str, address: str) -> Attempts:
    """Token requests per username and per client address: `API_FAILED_LOGIN_LIMIT` each."""
    limit, seconds = settings.API_FAILED_LOGIN_LIMIT
    return Attempts("api", username=username, address=address, limits=(limit, limit), seconds=seconds)
