"""One attempt limit for every password door of the web (the sign-in page and the admin's), counted
before the password is checked; a browser that signed in before keeps its account's door open when
only its address is locked (carepath/web/signin.py, docs/security.md "Sign-in limits")."""

import threading
from unittest import mock

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from carepath.pathway.roles import Role
from carepath.web.signin import DEVICE_COOKIE
from tests import factories

ADMIN_LOGIN = "/admin/login/"


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def staff(groups):
    user = factories.UserFactory(role=Role.ADMIN, username="ops_admin")
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


def admin_post(client, password, username="ops_admin", **extra):
    return client.post(ADMIN_LOGIN, {"username": username, "password": password, "next": "/admin/"}, **extra)


def test_wrong_admin_passwords_lock_the_admin_sign_in_and_the_right_one_is_then_refused(staff):
    client = Client()
    for _ in range(5):
        assert admin_post(client, "wrong").status_code == 200

    response = admin_post(client, factories.PASSWORD)

    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_right_admin_password_signs_in_and_gives_its_attempt_back(staff):
    admin_post(Client(), "wrong")
    for _ in range(8):
        response = admin_post(Client(), factories.PASSWORD)
        assert response.status_code == 302 and response["Location"] == "/admin/"

    assert admin_post(Client(), "wrong").status_code == 200


def test_the_web_and_the_admin_sign_in_count_the_same_failures(staff):
    for _ in range(3):
        Client().post(reverse("login"), {"username": "ops_admin", "password": "wrong"})
    for _ in range(2):
        admin_post(Client(), "wrong")

    assert admin_post(Client(), factories.PASSWORD).status_code == 429
    assert Client().post(reverse("login"), {"username": "ops_admin", "password": factories.PASSWORD}).status_code == 429


def test_a_locked_attempt_never_reaches_the_password_check(staff):
    for _ in range(5):
        admin_post(Client(), "wrong")

    with mock.patch("django.contrib.auth.forms.authenticate") as check:
        assert admin_post(Client(), factories.PASSWORD).status_code == 429
        assert Client().post(reverse("login"), {"username": "ops_admin", "password": "x"}).status_code == 429

    check.assert_not_called()


def test_parallel_admin_guessers_are_counted_in_full(staff):
    """Twenty guesses started together: only the limit's five reach the password check."""
    checked, lock, start = [], threading.Lock(), threading.Barrier(20)

    def fake_authenticate(request, **credentials):
        with lock:
            checked.append(credentials["username"])
        return None

    def guess():
        client = Client(REMOTE_ADDR="10.9.0.1")
        start.wait()
        admin_post(client, "guess")

    locked = []

    def fake_locked_attempt(username):  # the audit row; no database from these threads on SQLite
        with lock:
            locked.append(username)

    with (
        mock.patch("django.contrib.auth.forms.authenticate", fake_authenticate),
        mock.patch("carepath.web.signin.locked_attempt", fake_locked_attempt),
    ):
        threads = [threading.Thread(target=guess) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    assert len(checked) == 5 and len(locked) == 15


# --- the address lock and an account not under attack ------------------------------------------
def spray(address: str, accounts: int = 20) -> None:
    """One guess at each of many accounts from one address: locks the address (limit 20), no account."""
    for n in range(accounts):
        Client(REMOTE_ADDR=address).post(reverse("login"), {"username": f"someone{n}", "password": "guess"})


def test_a_browser_that_signed_in_before_is_not_locked_out_by_its_address(pediatrician):
    browser = Client(REMOTE_ADDR="10.1.1.1")
    assert browser.post(reverse("login"), {"username": "dr_ped", "password": factories.PASSWORD}).status_code == 302
    assert DEVICE_COOKIE in browser.cookies
    browser.post(reverse("logout"))  # signs out; the test client's logout() would drop every cookie
    spray("10.1.1.1")

    unknown = Client(REMOTE_ADDR="10.1.1.1").post(
        reverse("login"), {"username": "dr_ped", "password": factories.PASSWORD}
    )
    known = browser.post(reverse("login"), {"username": "dr_ped", "password": factories.PASSWORD})

    assert unknown.status_code == 429
    assert known.status_code == 302


def test_a_known_browser_is_still_locked_when_its_account_is_under_attack(pediatrician):
    browser = Client(REMOTE_ADDR="10.1.1.2")
    browser.post(reverse("login"), {"username": "dr_ped", "password": factories.PASSWORD})
    browser.post(reverse("logout"))  # signs out; the test client's logout() would drop every cookie
    for n in range(5):  # the account's own limit, from elsewhere
        Client(REMOTE_ADDR=f"10.2.0.{n}").post(reverse("login"), {"username": "dr_ped", "password": "guess"})

    assert browser.post(reverse("login"), {"username": "dr_ped", "password": factories.PASSWORD}).status_code == 429


def test_a_device_cookie_names_only_the_accounts_signed_in_from_it(pediatrician, other_pediatrician):
    browser = Client(REMOTE_ADDR="10.1.1.3")
    browser.post(reverse("login"), {"username": "dr_ped", "password": factories.PASSWORD})
    browser.post(reverse("logout"))  # signs out; the test client's logout() would drop every cookie
    spray("10.1.1.3")

    response = browser.post(reverse("login"), {"username": "dr_other_ped", "password": factories.PASSWORD})

    assert response.status_code == 429


def test_a_forged_device_cookie_is_ignored(pediatrician):
    spray("10.1.1.4")
    browser = Client(REMOTE_ADDR="10.1.1.4")
    browser.cookies[DEVICE_COOKIE] = "forged"

    assert browser.post(reverse("login"), {"username": "dr_ped", "password": factories.PASSWORD}).status_code == 429


def test_a_locked_attempt_is_audited_as_a_failed_sign_in(staff):
    from carepath.models import AuditLog

    for _ in range(5):
        admin_post(Client(), "wrong")
    admin_post(Client(), factories.PASSWORD)

    rows = AuditLog.objects.filter(action="sign_in_failed", object_id=str(staff.pk))
    assert rows.count() == 6
    assert rows.filter(changes__locked=True).count() == 1


def test_a_locked_token_request_is_audited_too(neurologist, settings):
    from rest_framework.test import APIClient

    from carepath.models import AuditLog

    settings.API_FAILED_LOGIN_LIMIT = (2, 60)
    for password in ("wrong", "wrong", factories.PASSWORD):
        last = APIClient().post("/api/v1/auth/token/", {"username": "dr_neuro", "password": password}, format="json")

    assert last.status_code == 429
    assert AuditLog.objects.filter(action="sign_in_failed", changes__locked=True).count() == 1
