"""The web session's idle timeout: 30 minutes after the last thing the person did; My work's
background refresh does not count as activity (carepath/web/idle.py)."""

import time

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse

from carepath.web.idle import LAST_ACTIVE

BACKGROUND = {
    "HTTP_HX_REQUEST": "true",
    "HTTP_X_BACKGROUND_REFRESH": "true",
    "HTTP_HX_CURRENT_URL": "http://testserver/work/",
}


@pytest.fixture
def signed_in_neurologist(signed_in, neurologist):
    client = signed_in(neurologist)
    assert client.get(reverse("my_work")).status_code == 200  # the first request stamps the session
    return client


def idle_for(client, minutes: float) -> None:
    session = client.session
    session[LAST_ACTIVE] = int(time.time() - minutes * 60)
    session.save()


def expiry(client):
    return Session.objects.get(session_key=client.session.session_key).expire_date


def test_the_worklist_refresh_sends_the_background_header(signed_in_neurologist):
    page = signed_in_neurologist.get(reverse("my_work")).content.decode()

    assert 'hx-headers=\'{"X-Background-Refresh": "true"}\'' in page


def test_a_background_refresh_neither_counts_as_activity_nor_extends_the_session(signed_in_neurologist):
    idle_for(signed_in_neurologist, 20)
    before_stamp, before_expiry = signed_in_neurologist.session[LAST_ACTIVE], expiry(signed_in_neurologist)

    for _ in range(3):
        assert signed_in_neurologist.get(reverse("my_work"), **BACKGROUND).status_code == 200

    assert signed_in_neurologist.session[LAST_ACTIVE] == before_stamp
    assert expiry(signed_in_neurologist) == before_expiry


def test_background_refreshes_alone_end_in_sign_out_after_thirty_idle_minutes(signed_in_neurologist):
    idle_for(signed_in_neurologist, 31)

    refresh = signed_in_neurologist.get(reverse("my_work"), **BACKGROUND)

    assert refresh.status_code == 204 and refresh["HX-Redirect"] == "/login/?next=/work/"
    assert "_auth_user_id" not in signed_in_neurologist.session
    assert signed_in_neurologist.get(reverse("my_work"))["Location"].startswith("/login/")


def test_a_request_the_person_made_counts_as_activity(signed_in_neurologist):
    idle_for(signed_in_neurologist, 29)

    assert signed_in_neurologist.get(reverse("notifications")).status_code == 200

    assert signed_in_neurologist.session[LAST_ACTIVE] >= int(time.time()) - 5


def test_a_page_opened_after_thirty_idle_minutes_asks_to_sign_in_again(signed_in_neurologist):
    idle_for(signed_in_neurologist, 31)

    response = signed_in_neurologist.get(reverse("notifications"))

    assert response.status_code == 302 and response["Location"].startswith("/login/")
