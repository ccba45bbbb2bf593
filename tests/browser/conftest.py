"""A real Chromium (Debian's chromium + chromium-driver) driven by selenium against live_server.

Skipped when Chromium is missing on a developer's machine; a failure under CI=true (tests/conftest.need).
Screenshots of the main pages go to var/screenshots/ (test artifacts, not committed).
"""

import shutil
import tempfile
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.servers.basehttp import ThreadedWSGIServer
from django.db import connections
from pytest_django.live_server_helper import LiveServer

from tests.conftest import need

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SHOTS = Path(django_settings.BASE_DIR) / "var" / "screenshots"


PLAIN_HTTP = {
    "SECURE_SSL_REDIRECT": False,
    "SECURE_HSTS_SECONDS": 0,
    "SESSION_COOKIE_SECURE": False,
    "CSRF_COOKIE_SECURE": False,
    # Django's live server publishes MEDIA_ROOT at MEDIA_URL and needs a string (ours is None: no
    # public address, docs/security.md "Attachments"); a URL on another host makes it serve nothing.
    "MEDIA_URL": "http://media.invalid/",
    "STORAGES": {
        **django_settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    },
}


@pytest.fixture(scope="session")
def _plain_http():
    """The live server speaks plain HTTP and serves source static files. Set before the server
    starts: SecurityMiddleware reads its settings once, when the server builds its handler."""
    from django.test.signals import setting_changed

    def put(values: dict, *, enter: bool) -> None:
        for name, value in values.items():
            setattr(django_settings, name, value)
            # as override_settings does: the storages built from STORAGES are dropped, so a
            # staticfiles storage an earlier test built (the production manifest) is not reused
            setting_changed.send(sender=type(django_settings), setting=name, value=value, enter=enter)

    saved = {name: getattr(django_settings, name, None) for name in PLAIN_HTTP}
    put(PLAIN_HTTP, enter=True)
    yield
    put(saved, enter=False)


class _SharedConnectionServer(ThreadedWSGIServer):
    """Django's test server closes every connection when a request thread ends. On SQLite the
    request threads borrow the test's in-memory connection, and Chromium ends its idle keep-alive
    sockets seconds after the last browser test, when that connection is no longer shared: the
    close then raised in the thread (a traceback under a green run). Closing an in-memory
    database's connection is a no-op anyway, so the borrowed ones are left to their owner."""

    def _close_connections(self):
        borrowed = set((self.connections_override or {}).values())
        for conn in connections.all(initialized_only=True):
            if conn not in borrowed:
                conn.close()


@pytest.fixture(scope="session")
def live_server(_plain_http, request):
    addr = request.config.getvalue("liveserver") or "localhost"
    server = LiveServer(addr, start=False)
    server.thread.server_class = _SharedConnectionServer
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def chromium():
    need(Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists(), "Chromium (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="carepath-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--window-size=1280,1000",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # the console, for CSP reports
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(2)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


# A child with facial twitching and a red flag, as the new-referral page asks for them.
RED_FLAG_CHILD = {
    "given_name": "Robin",
    "family_name": "Hale",
    "birth_date": "2019-03-02",
    "guardian-0-name": "Jo Hale",
    "guardian-0-relationship": "father",
    "guardian-0-phone": "+447700900001",
    "reason": "Left eye twitching for 4 months.",
    "symptom_onset": "2025-01-10",
    "first_muscle": "orbicularis_oculi",
    "muscles": "buccinator",
    "side": "left",
    "red_flags": "facial_weakness",
}


class Browser:
    """Small helpers over selenium, named for what a user does."""

    def __init__(self, driver, base_url):
        self.d, self.base = driver, base_url

    def go(self, path):
        self.d.get(self.base + path)

    def sign_in(self, user):
        from tests.factories import PASSWORD

        self.d.delete_all_cookies()
        self.go("/login/")
        self.d.find_element("id", "id_username").send_keys(user.username)
        self.d.find_element("id", "id_password").send_keys(PASSWORD)
        self.submit(self.d.find_element("id", "login-form"))
        assert "/work/" in self.d.current_url, self.text()

    def text(self) -> str:
        return self.d.find_element("tag name", "body").text

    def open_action(self, dom_id):
        details = self.d.find_element("id", dom_id)
        if not details.get_attribute("open"):
            details.find_element("tag name", "summary").click()
        return details

    def fill(self, scope, name, value):
        el = scope.find_element("css selector", f'[name="{name}"]:not([type=hidden])')
        kind = el.get_attribute("type")
        if kind in ("date", "datetime-local"):
            self.d.execute_script("arguments[0].value = arguments[1]", el, value)
        elif kind == "checkbox" and value in ("true", "false"):  # a yes/no box (a hidden "false" sits beside it)
            if el.is_selected() != (value == "true"):
                el.click()
        elif kind in ("radio", "checkbox"):
            scope.find_element("css selector", f'[name="{name}"][value="{value}"]').click()
        elif el.tag_name == "select":
            from selenium.webdriver.support.ui import Select

            Select(el).select_by_value(value)
        else:
            el.clear()
            el.send_keys(value)

    def submit(self, scope):
        """Click the form's button and wait for the next page (a normal, non-JavaScript post)."""
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.support.ui import WebDriverWait

        page = self.d.find_element("tag name", "html")
        scope.find_element("css selector", "button[type=submit]").click()

        def replaced(_driver):
            try:
                page.is_enabled()
            except WebDriverException:  # stale, or no longer in any document: the next page is here
                return True
            return False

        WebDriverWait(self.d, 10).until(replaced)
        WebDriverWait(self.d, 10).until(lambda d: d.execute_script("return document.readyState") == "complete")

    def fill_new_referral(self, mrn, **fields):
        """The new-referral page for a child not yet registered, filled in for a red-flag referral
        (`fields` add to or replace the child's and the referral's); returns the form, not sent."""
        self.go(f"/referrals/new/?mrn={mrn}")
        form = self.d.find_element("id", "referral-form")
        for name, value in {**RED_FLAG_CHILD, **fields}.items():
            self.fill(form, name, value)
        return form

    def act(self, dom_id, **fields):
        details = self.open_action(dom_id)
        for name, value in fields.items():
            self.fill(details, name.replace("__", "."), value)
        self.submit(details)

    def shot(self, name):
        SHOTS.mkdir(parents=True, exist_ok=True)
        height = self.d.execute_script("return document.body.scrollHeight")
        self.d.set_window_size(1280, min(max(height, 800), 4000))
        self.d.save_screenshot(str(SHOTS / f"{name}.png"))
        self.d.set_window_size(1280, 1000)


@pytest.fixture
def browser(chromium, live_server):
    return Browser(chromium, live_server.url)


# --- the main pages of each role, with a case at each step they show (accessibility, CSP) ---------
def reported(pathway, category):
    """Pathway.results_review, but with commits on: the report's signal moves the case on by itself."""
    from imaging import reports as imaging_reports
    from referrals.models import Referral
    from tests.factories import FINDINGS_NVC

    referral = pathway.performed()
    imaging_reports.mri_sign_report(
        mri_request_id=pathway.mri(referral).pk,
        actor=pathway.rad,
        findings=FINDINGS_NVC,
        impression="Left AICA indenting the root exit zone of CN VII.",
        category=category,
    )
    return Referral.objects.get(pk=referral.pk)


@pytest.fixture
def cases(pathway):
    """A case at each step a page shows: new, on the board, to report, a critical result, a consult."""
    from referrals import services

    consult = reported(pathway, "routine")
    return {
        "submitted": pathway.submitted(),
        "scheduled": pathway.scheduled(),
        "performed": pathway.performed(),
        "critical": reported(pathway, "critical"),
        "consult": services.referral_refer_neurosurgery(
            referral_id=consult.pk, actor=pathway.neuro, question="MVD candidate?"
        ),
    }


def pages_for(role, cases, mri) -> list[str]:
    case = f"/cases/{cases['consult'].pk}/"
    return {
        "pediatrician": [
            "/work/",
            "/referrals/new/",
            "/referrals/new/?mrn=NEW0001",
            case,
            f"{case}print/summary/",
            "/notifications/",
            "/referrals/mine/",
        ],
        "neurologist": [
            "/work/",
            f"/cases/{cases['submitted'].pk}/",
            f"/cases/{cases['critical'].pk}/",
            f"/cases/{cases['critical'].pk}/print/summary/",
            "/mri/board/",
            "/dashboard/",
            "/notifications/",
        ],
        "neuroradiologist": ["/work/", "/mri/reading/", f"/mri/reading/{mri(cases['performed']).pk}/", "/mri/board/"],
        "coordinator": ["/work/", "/mri/board/", f"/cases/{cases['scheduled'].pk}/", "/dashboard/"],
        "neurosurgeon": ["/work/", case, "/notifications/"],
    }[role]


@pytest.fixture
def roles(pediatrician, neurologist, neuroradiologist, coordinator, neurosurgeon):
    """One user of each role whose main pages are checked."""
    return {
        "pediatrician": pediatrician,
        "neurologist": neurologist,
        "neuroradiologist": neuroradiologist,
        "coordinator": coordinator,
        "neurosurgeon": neurosurgeon,
    }


def each_main_page(browser, roles, cases, mri):
    """Opens the sign-in page signed out, then each role's main pages signed in as it (none may be an
    error page); yields each page's name once it is open."""
    browser.d.delete_all_cookies()
    browser.go("/login/")
    yield "/login/ (signed out)"
    for role, user in roles.items():
        browser.sign_in(user)
        for path in pages_for(role, cases, mri):
            browser.go(path)
            assert "Server Error" not in browser.text() and "Not found" not in browser.d.title, (role, path)
            yield f"{path} as {role}"
