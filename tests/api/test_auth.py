"""Bearer tokens: issued for a password, stored hashed, expiring, revocable; failures throttled."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from carepath.api.models import ApiToken
from carepath.api.throttles import ClientRateThrottle
from tests.factories import PASSWORD


def obtain(username, password=PASSWORD, **extra):
    return APIClient().post("/api/v1/auth/token/", {"username": username, "password": password}, format="json", **extra)


def bearer(raw):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_a_token_issued_for_a_password_authenticates_requests(neurologist):
    response = obtain("dr_neuro")

    assert response.status_code == 201
    assert bearer(response.json()["token"]).get("/api/v1/referrals/").status_code == 200


def test_only_the_digest_of_a_token_is_stored(neurologist):
    raw = obtain("dr_neuro").json()["token"]

    token = ApiToken.objects.get()
    assert raw not in (token.digest, token.prefix) and len(token.digest) == 64


def test_a_wrong_password_is_a_401_problem(neurologist):
    response = obtain("dr_neuro", "wrong")

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert not ApiToken.objects.exists()


def test_an_anonymous_request_is_a_401_with_a_bearer_challenge(db):
    response = APIClient().get("/api/v1/referrals/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["status"] == 401


def test_an_expired_token_is_refused(neurologist):
    raw = obtain("dr_neuro").json()["token"]
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert bearer(raw).get("/api/v1/referrals/").status_code == 401


def test_the_owner_can_revoke_the_token_in_use(neurologist):
    raw = obtain("dr_neuro").json()["token"]

    assert bearer(raw).post("/api/v1/auth/token/revoke/").status_code == 204
    assert bearer(raw).get("/api/v1/referrals/").status_code == 401


def test_an_admin_can_revoke_anyones_token(neurologist, admin_user):
    raw = obtain("dr_neuro").json()["token"]
    token = ApiToken.objects.get(user=neurologist)
    admin = bearer(obtain("admin_user").json()["token"])

    assert admin.post(f"/api/v1/auth/tokens/{token.pk}/revoke/").status_code == 200
    assert bearer(raw).get("/api/v1/referrals/").status_code == 401


def test_another_user_cannot_see_or_revoke_my_token(neurologist, pediatrician):
    obtain("dr_neuro")
    token = ApiToken.objects.get(user=neurologist)
    other = bearer(obtain("dr_ped").json()["token"])

    assert other.post(f"/api/v1/auth/tokens/{token.pk}/revoke/").status_code == 404
    assert [t["id"] for t in other.get("/api/v1/auth/tokens/").json()["results"]] != [token.pk]
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None


@pytest.fixture
def one_window(monkeypatch):
    """The attempts of a test fall in one fixed window of the limit (a test that crossed a window's
    edge between its failures and its last attempt saw the count start again: a rare CI failure)."""
    import time
    from types import SimpleNamespace

    start = (time.time() // 3600) * 3600 + 1  # a second into a window of any length dividing an hour
    monkeypatch.setattr("carepath.web.limits.time", SimpleNamespace(time=lambda: start))


def test_failed_sign_ins_for_one_username_are_throttled_with_retry_after(neurologist, settings, one_window):
    settings.API_FAILED_LOGIN_LIMIT = (3, 60)
    for n in range(3):
        obtain("dr_neuro", "wrong", REMOTE_ADDR=f"10.0.0.{n}")

    response = obtain("dr_neuro", REMOTE_ADDR="10.0.0.99")  # right password, but the account is cooling down

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response["Content-Type"] == "application/problem+json"


def test_failed_sign_ins_from_one_address_are_throttled_across_usernames(neurologist, settings, one_window):
    settings.API_FAILED_LOGIN_LIMIT = (3, 60)
    for name in ("a", "b", "c"):
        obtain(name, "wrong", REMOTE_ADDR="10.9.9.9")

    assert obtain("dr_neuro", REMOTE_ADDR="10.9.9.9").status_code == 429
    assert obtain("dr_neuro", REMOTE_ADDR="10.1.1.1").status_code == 201


def test_a_client_over_its_request_rate_gets_429_with_retry_after(api, neurologist, monkeypatch):
    monkeypatch.setattr(ClientRateThrottle, "rate", "2/minute", raising=False)
    client = api(neurologist)
    client.get("/api/v1/pathway/")
    client.get("/api/v1/pathway/")

    response = client.get("/api/v1/pathway/")

    assert response.status_code == 429
    assert "Retry-After" in response


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Bearer cp_not-a-real-token", "Bearer \u00e9"])
def test_malformed_or_unknown_bearer_tokens_are_a_401_problem(db, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    response = client.get("/api/v1/referrals/")

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_the_request_counter_counts_every_request_once_when_many_arrive_at_once(require_redis, settings):
    """On the shared Redis (production's CACHE_URL), eight clients at once: no count is lost or
    repeated, and the window's key expires by itself."""
    import threading

    import redis

    from carepath.web.limits import hit

    settings.CACHE_URL = require_redis
    key = f"throttle_test_{threading.get_ident()}"
    redis.Redis.from_url(require_redis).delete(key)
    counts, lock = [], threading.Lock()

    def client():
        mine = [hit(key, 60) for _ in range(25)]
        with lock:
            counts.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(counts) == list(range(1, 201))
    assert 0 < redis.Redis.from_url(require_redis).ttl(key) <= 61


def test_a_client_over_its_rate_on_the_shared_counter_gets_429_until_the_window_ends(
    api, neurologist, monkeypatch, require_redis, settings
):
    import redis

    settings.CACHE_URL = require_redis
    redis.Redis.from_url(require_redis).flushdb()
    monkeypatch.setattr(ClientRateThrottle, "rate", "3/hour", raising=False)
    client = api(neurologist)
    answers = [client.get("/api/v1/pathway/").status_code for _ in range(4)]

    assert answers == [200, 200, 200, 429]
    assert 0 < int(client.get("/api/v1/pathway/")["Retry-After"]) <= 3600


def test_the_api_still_answers_when_the_throttles_redis_is_down(api, neurologist, settings, caplog):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CACHE_URL = f"redis://127.0.0.1:{port}/0"

    response = api(neurologist).get("/api/v1/pathway/")

    assert response.status_code == 200
    assert "Redis unavailable" in caplog.text


def test_a_burst_of_sign_in_attempts_at_once_is_counted_in_full(settings):
    """Every attempt is counted before its password is checked: of twenty guesses started together,
    only the limit's worth go ahead (checking first and counting failures after let all through)."""
    import threading

    from carepath.api.throttles import failed_sign_ins

    settings.API_FAILED_LOGIN_LIMIT = (3, 60)
    start, allowed, lock = threading.Barrier(20), [], threading.Lock()

    def guess(n):
        attempt = failed_sign_ins(username="dr_neuro", address=f"10.7.0.{n}")
        start.wait()
        if attempt.begin() is None:
            with lock:
                allowed.append(n)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(allowed) == 3


def test_right_passwords_give_their_attempt_back(neurologist, settings):
    settings.API_FAILED_LOGIN_LIMIT = (3, 60)
    obtain("dr_neuro", "wrong")
    for _ in range(5):
        assert obtain("dr_neuro").status_code == 201
    obtain("dr_neuro", "wrong")

    assert obtain("dr_neuro").status_code == 201


def test_a_count_given_back_on_redis_never_recreates_an_expired_key(require_redis, settings):
    import redis

    from carepath.web.limits import give_back, hit

    settings.CACHE_URL = require_redis
    client = redis.Redis.from_url(require_redis)
    client.delete("giveback:a", "giveback:gone")
    hit("giveback:a", 60)
    hit("giveback:a", 60)

    give_back("giveback:a")
    give_back("giveback:gone")

    assert int(client.get("giveback:a")) == 1
    assert client.exists("giveback:gone") == 0


def test_leased_counts_never_allow_more_than_the_limit_across_processes(require_redis, settings):
    """Four web processes (each its own Leases) with two threads each, all on one client's window:
    no more than the limit go ahead, and at most 9 per process fewer."""
    import threading

    import redis

    from carepath.web.limits import Leases

    settings.CACHE_URL = require_redis
    redis.Redis.from_url(require_redis).delete("lease:test")
    processes = [Leases() for _ in range(4)]
    allowed, lock = [], threading.Lock()

    def client(leases):
        mine = sum(leases.take("lease:test", 60, 1000) for _ in range(400))
        with lock:
            allowed.append(mine)

    threads = [threading.Thread(target=client, args=(p,)) for p in processes for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert 1000 - 4 * 9 <= sum(allowed) <= 1000


def test_a_busy_client_reaches_the_shared_counter_once_per_lease(monkeypatch):
    from carepath.web import limits

    calls = []
    real_hit = limits.hit
    monkeypatch.setattr(limits, "hit", lambda *a: calls.append(a) or real_hit(*a))
    leases = limits.Leases()

    assert all(leases.take("lease:busy", 60, 1200) for _ in range(100))
    assert len(calls) == 10
    calls.clear()
    assert [leases.take("lease:small", 60, 3) for _ in range(6)] == [True, True, True, False, False, False]
    assert len(calls) == 4  # once spent, the window is refused here without asking again
