"""The main pages, the admin and the API docs run under our Content-Security-Policy without a
single violation (docs/security.md): nothing inline is blocked, nothing is loaded from elsewhere."""

import pytest

from tests.browser.conftest import each_main_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LISTEN = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', e => window.__cspViolations.push(
  e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' at ' + e.sourceFile + ':' + e.lineNumber));
"""


@pytest.fixture
def watched(browser):
    """The browser, with a listener for CSP violations installed before any page's own script runs."""
    added = browser.d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": LISTEN})
    browser.d.get_log("browser")  # drop what earlier tests logged
    yield browser
    browser.d.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": added["identifier"]})


def violations(browser) -> list[str]:
    import time

    time.sleep(0.3)  # reports are queued as tasks after the load event
    seen = browser.d.execute_script("return window.__cspViolations || []")
    console = [e["message"] for e in browser.d.get_log("browser") if "Content Security Policy" in e["message"]]
    return seen + console


def test_no_page_breaks_the_content_security_policy(watched, cases, pathway, roles, admin_user):
    found = {}
    for page in each_main_page(watched, roles, cases, pathway.mri):
        watched.d.execute_script("document.querySelectorAll('details').forEach(d => d.open = true)")
        found[page] = violations(watched)
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    watched.sign_in(admin_user)
    patient = cases["consult"].patient_id
    for path in [
        "/admin/",
        "/admin/referrals/patient/",
        f"/admin/referrals/patient/{patient}/change/",
        f"/admin/referrals/patient/{patient}/access/",
        "/admin/referrals/referral/?q=a",
        "/api/docs/",
    ]:
        watched.go(path)
        if path == "/api/docs/":
            watched.d.find_element("css selector", ".swagger-ui .info")  # Swagger UI rendered the schema
        found[path] = violations(watched)
    failures = {page: v for page, v in found.items() if v}
    assert not failures, "\n".join(f"{page}:\n  " + "\n  ".join(v) for page, v in failures.items())
