"""axe-core on the main pages, signed in as each role; and the main pages at tablet width.

axe-core's JavaScript comes from the `axe-core-python` PyPI package (requirements-dev.txt), never a CDN.
Every action disclosure is opened first, so the action forms are checked too.
"""

import pytest
from axe_core_python.base import AXE_SCRIPT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BLOCKING = ("serious", "critical")
TABLET = (820, 1180)


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


def serious_violations(browser) -> list[str]:
    browser.d.execute_script("document.querySelectorAll('details').forEach(d => d.open = true)")
    browser.d.execute_script(AXE_SCRIPT)
    results = browser.d.execute_async_script(
        "const done = arguments[arguments.length - 1]; axe.run(document).then(done, e => done({error: String(e)}))"
    )
    assert "error" not in results and results["passes"], results.get("error", "axe checked nothing")
    return [
        f"{v['impact']}: {v['id']} ({v['help']}) at {[n['target'] for n in v['nodes']][:5]}"
        for v in results["violations"]
        if v["impact"] in BLOCKING
    ]


def test_axe_finds_no_serious_violation_on_the_main_pages_for_any_role(
    browser, cases, pathway, pediatrician, neurologist, neuroradiologist, coordinator, neurosurgeon
):
    users = {
        "pediatrician": pediatrician,
        "neurologist": neurologist,
        "neuroradiologist": neuroradiologist,
        "coordinator": coordinator,
        "neurosurgeon": neurosurgeon,
    }
    found = {}
    browser.d.delete_all_cookies()
    browser.go("/login/")
    found["/login/ (signed out)"] = serious_violations(browser)
    for role, user in users.items():
        browser.sign_in(user)
        for path in pages_for(role, cases, pathway.mri):
            browser.go(path)
            assert "Server Error" not in browser.text() and "Not found" not in browser.d.title, (role, path)
            found[f"{path} as {role}"] = serious_violations(browser)
    failures = {page: v for page, v in found.items() if v}
    assert not failures, "\n".join(f"{page}:\n  " + "\n  ".join(v) for page, v in failures.items())


def test_a_form_with_errors_opens_on_its_summary_whose_links_reach_the_fields(browser, pediatrician):
    """The error summary takes focus when the page loads (autofocus, no script); each link moves focus
    to its field; and axe finds nothing serious on the page with its errors."""
    from selenium.webdriver.common.by import By

    browser.sign_in(pediatrician)
    browser.go("/referrals/new/?mrn=NEW0002")
    browser.submit(browser.d.find_element(By.ID, "referral-form"))

    focused = browser.d.switch_to.active_element
    assert focused.get_attribute("class") == "error-summary-title", focused.get_attribute("outerHTML")[:200]
    links = browser.d.find_elements(By.CSS_SELECTOR, ".error-summary a")
    assert len(links) >= 5
    for i in range(len(links)):
        link = browser.d.find_elements(By.CSS_SELECTOR, ".error-summary a")[i]
        target = link.get_attribute("href").split("#", 1)[1]
        link.click()
        assert browser.d.switch_to.active_element.get_attribute("id") == target, target
    assert not serious_violations(browser)


def test_the_main_pages_fit_a_tablet_without_scrolling_sideways(browser, cases, pathway, coordinator, neurologist):
    """At 820 px nothing pushes the page wider than the screen; the board scrolls inside its own box."""
    browser.d.set_window_size(*TABLET)
    try:
        wide = {}
        for user, paths in (
            (neurologist, ["/work/", f"/cases/{cases['critical'].pk}/", "/dashboard/"]),
            (coordinator, ["/mri/board/", f"/cases/{cases['scheduled'].pk}/"]),
        ):
            browser.sign_in(user)
            for path in paths:
                browser.go(path)
                browser.d.set_window_size(*TABLET)
                browser.d.save_screenshot(str(_shot_path(f"tablet-{path.strip('/').replace('/', '-')}")))
                width = browser.d.execute_script(
                    "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
                )
                if width[0] > width[1]:
                    wide[path] = width
        assert not wide, f"pages wider than the tablet screen (content, window): {wide}"
    finally:
        browser.d.set_window_size(1280, 1000)


def _shot_path(name):
    from tests.browser.conftest import SHOTS

    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS / f"{name}.png"
