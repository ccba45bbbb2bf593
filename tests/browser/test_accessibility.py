"""axe-core on the main pages, signed in as each role; and the main pages at tablet width.

axe-core's JavaScript comes from the `axe-core-python` PyPI package (requirements-dev.txt), never a CDN.
Every action disclosure is opened first, so the action forms are checked too.
"""

import pytest
from axe_core_python.base import AXE_SCRIPT

from tests.browser.conftest import each_main_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BLOCKING = ("serious", "critical")
TABLET = (820, 1180)


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


def test_axe_finds_no_serious_violation_on_the_main_pages_for_any_role(browser, cases, pathway, roles):
    found = {page: serious_violations(browser) for page in each_main_page(browser, roles, cases, pathway.mri)}
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
