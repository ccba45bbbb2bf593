"""The structured report checked as a whole, signing confirmed on the page, drafts saved and resumed,
amendments that keep what the report said before (docs/decisions.md, "A report that cannot
contradict itself")."""

import copy

import pytest
from django.urls import reverse

from carepath.models import CaseEvent, WorkItemKind
from carepath.pathway.errors import Forbidden, Unprocessable
from imaging import drafts
from imaging import reports as imaging_reports
from imaging.models import MRIRequest, ReportDraft
from referrals import services
from tests import factories
from tests.api.conftest import transition

pytestmark = pytest.mark.django_db

NO_NVC = {"status": "absent"}
MASS = {"present": True, "location": "fourth_ventricle", "kind": "enhancing mass"}


def findings(nvc=None, lesion=None, **more) -> dict:
    base = copy.deepcopy(factories.FINDINGS_NVC)
    if nvc is not None:
        base["nvc"] = nvc
    if lesion is not None:
        base["lesion"] = lesion
    return base | more


def sign(pathway, mri, *, category="routine", impression="Reported.", **kw):
    return imaging_reports.mri_sign_report(
        mri_request_id=mri.pk, actor=pathway.rad, findings=findings(**kw), impression=impression, category=category
    )


@pytest.fixture
def study(pathway):
    return pathway.mri(pathway.performed())


# --- the rules, through the service -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("kw", "category", "field"),
    [
        ({"lesion": {"present": False, "location": "cpa"}}, "routine", "findings.lesion.location"),
        ({"lesion": {"present": False, "kind": "schwannoma"}}, "routine", "findings.lesion.kind"),
        ({"lesion": {"present": True}}, "urgent", "findings.lesion.location"),
        ({"nvc": {"status": "absent", "vessel": "aica"}}, "routine", "findings.nvc.vessel"),
        ({"nvc": {"status": "indeterminate", "multiple": True}}, "routine", "findings.nvc.multiple"),
        ({"nvc": {"status": "present", "side": "left"}}, "routine", "findings.nvc.vessel"),
        ({"lesion": MASS}, "routine", "category"),
        ({"hydrocephalus": True}, "significant_unexpected", "category"),
        ({"nvc": NO_NVC}, "critical", "category"),
    ],
)
def test_a_report_that_contradicts_itself_is_refused_naming_the_field_and_nothing_is_signed(
    pathway, study, kw, category, field
):
    with pytest.raises(Unprocessable) as refused:
        sign(pathway, study, category=category, **kw)
    assert field in refused.value.errors
    study.refresh_from_db()
    assert study.state == "performed" and not hasattr(study, "report")


def test_a_report_whose_findings_and_category_agree_is_signed(pathway, study):
    sign(pathway, study, category="critical", nvc=NO_NVC, lesion=MASS, hydrocephalus=True)
    assert MRIRequest.objects.get(pk=study.pk).report.category == "critical"


# --- the API ----------------------------------------------------------------------------------------
def test_the_api_refuses_a_contradictory_report_with_422_naming_each_field(api, pathway, neuroradiologist, study):
    data = {
        "findings": findings(lesion={"present": False, "location": "cpa"}),
        "impression": "x",
        "category": "routine",
    }
    response = transition(api(neuroradiologist), "mri-requests", study.pk, "sign_report", data)
    assert response.status_code == 422 and response["Content-Type"] == "application/problem+json"
    assert "findings.lesion.location" in response.json()["errors"]
    mass_as_routine = {"findings": findings(lesion=MASS), "impression": "Mass.", "category": "routine"}
    response = transition(api(neuroradiologist), "mri-requests", study.pk, "sign_report", mass_as_routine)
    assert response.status_code == 422 and list(response.json()["errors"]) == ["category"]
    assert MRIRequest.objects.get(pk=study.pk).state == "performed"


# --- the page: whole-report errors and the confirmation ---------------------------------------------------
def report_post(mri, **fields) -> dict:
    post = {
        "machine": "mri",
        "object": mri.pk,
        "transition": "sign_report",
        "version": mri.version,
        "findings.nvc.status": "absent",
        "findings.lesion.present": "false",
        "impression": "No compression, no lesion.",
        "category": "routine",
    }
    return post | fields


def test_the_reading_page_asks_to_confirm_the_signature_with_a_checkbox_not_a_script(
    signed_in, neuroradiologist, study
):
    html = signed_in(neuroradiologist).get(reverse("reading", args=[study.pk])).content.decode()
    assert 'name="confirm" value="yes" required' in html and "I sign this report" in html
    assert "confirm(" not in html and "Save draft" in html


def test_signing_without_ticking_the_confirmation_signs_nothing_and_says_so(signed_in, neuroradiologist, study):
    response = signed_in(neuroradiologist).post(reverse("reading", args=[study.pk]), report_post(study))
    assert response.status_code == 400 and "Tick the box to confirm" in response.content.decode()
    assert MRIRequest.objects.get(pk=study.pk).state == "performed"
    confirmed = signed_in(neuroradiologist).post(reverse("reading", args=[study.pk]), report_post(study, confirm="yes"))
    assert confirmed.status_code == 302 and MRIRequest.objects.get(pk=study.pk).state == "reported"


def test_the_page_shows_a_contradiction_beside_its_field_even_before_the_confirmation(
    signed_in, neuroradiologist, study
):
    post = report_post(study, **{"findings.lesion.present": "true", "findings.lesion.location": "cpa"})
    html = signed_in(neuroradiologist).post(reverse("reading", args=[study.pk]), post).content.decode()
    assert "A lesion cannot be reported as routine" in html and "Tick the box to confirm" not in html
    assert MRIRequest.objects.get(pk=study.pk).state == "performed"


# --- drafts -------------------------------------------------------------------------------------------
def test_a_draft_is_saved_and_resumed_by_its_author_only(pathway, study, neuroradiologist, coordinator):
    data = {"findings": {"nvc": {"status": "present", "side": "left"}}, "impression": "So far: AICA?", "junk": "x"}
    drafts.report_draft_save(mri_request_id=study.pk, actor=neuroradiologist, data=data)
    drafts.report_draft_save(mri_request_id=study.pk, actor=neuroradiologist, data={**data, "impression": "AICA."})
    mine = drafts.report_draft_for(mri_request_id=study.pk, user=neuroradiologist)
    assert mine.data == {"findings": {"nvc": {"status": "present", "side": "left"}}, "impression": "AICA."}
    colleague = factories.user_with_role("neuroradiologist", "dr_rad_two")
    assert drafts.report_draft_for(mri_request_id=study.pk, user=colleague) is None
    with pytest.raises(Forbidden):
        drafts.report_draft_save(mri_request_id=study.pk, actor=coordinator, data=data)


def test_signing_the_report_discards_its_drafts(pathway, study, neuroradiologist):
    drafts.report_draft_save(mri_request_id=study.pk, actor=neuroradiologist, data={"impression": "draft"})
    sign(pathway, study)
    assert not ReportDraft.objects.exists()


def test_the_reading_page_saves_a_draft_and_fills_the_form_from_it(signed_in, neuroradiologist, study):
    client = signed_in(neuroradiologist)
    post = report_post(study, save_draft="1", impression="Half written", **{"findings.nvc.status": "indeterminate"})
    post.pop("category")
    response = client.post(reverse("reading", args=[study.pk]), post)
    assert response.status_code == 302 and MRIRequest.objects.get(pk=study.pk).state == "performed"
    html = client.get(reverse("reading", args=[study.pk])).content.decode()
    assert "Your draft of this report" in html and "Half written</textarea>" in html
    assert 'value="indeterminate" checked' in html


def test_a_draft_is_not_shown_to_a_colleague_or_the_referrer(signed_in, neuroradiologist, pediatrician, pathway, study):
    drafts.report_draft_save(mri_request_id=study.pk, actor=neuroradiologist, data={"impression": "Secret draft"})
    colleague = factories.user_with_role("neuroradiologist", "dr_rad_two")
    assert "Secret draft" not in signed_in(colleague).get(reverse("reading", args=[study.pk])).content.decode()
    case = signed_in(pediatrician).get(reverse("case", args=[study.referral_id])).content.decode()
    assert "Secret draft" not in case


def test_the_api_saves_and_returns_only_your_own_draft(api, neuroradiologist, pediatrician, study):
    url = f"/api/v1/mri-requests/{study.pk}/report-draft/"
    assert api(neuroradiologist).get(url).status_code == 404
    saved = api(neuroradiologist).put(url, {"data": {"impression": "API draft"}}, format="json")
    assert saved.status_code == 200 and saved.json()["data"] == {"impression": "API draft"}
    assert api(neuroradiologist).get(url).json()["data"]["impression"] == "API draft"
    colleague = factories.user_with_role("neuroradiologist", "dr_rad_two")
    assert api(colleague).get(url).status_code == 404
    assert api(pediatrician).get(url).status_code == 404
    assert api(pediatrician).put(url, {"data": {}}, format="json").status_code in (403, 404)


# --- amendments ------------------------------------------------------------------------------------
def test_an_amendment_keeps_what_the_report_said_before_and_asks_neurology_to_acknowledge_a_raised_category(
    pathway, neuroradiologist, neurologist
):
    referral = pathway.results_review()
    mri = pathway.mri(referral)
    imaging_reports.mri_amend_report(
        mri_request_id=mri.pk,
        actor=neuroradiologist,
        addendum="On review the compression deforms the nerve.",
        impression="AICA deforming the root exit zone.",
        category="urgent",
    )
    report = MRIRequest.objects.get(pk=mri.pk).report
    assert (report.category, report.impression) == ("urgent", "AICA deforming the root exit zone.")
    event = CaseEvent.objects.filter(referral=referral, transition="amend_report").get()
    assert event.data["changes"]["category"] == {"before": "routine", "after": "urgent"}
    assert event.data["changes"]["impression"]["before"] == "Left AICA indenting the root exit zone of CN VII."
    assert report.acknowledged_at is None
    assert referral.work_items.filter(kind=WorkItemKind.CRITICAL_RESULT_ACK, status="open").exists()
    with pytest.raises(Exception, match="acknowledge"):
        services.referral_conclude(referral_id=referral.pk, actor=neurologist, **factories.CONCLUSION)


def test_an_amendment_cannot_make_the_category_contradict_the_findings(pathway, neuroradiologist):
    from imaging.models import NeuroradiologyReport

    referral = pathway.results_review(category="urgent")
    mri = pathway.mri(referral)
    NeuroradiologyReport.objects.filter(mri_request=mri).update(findings=findings(lesion=MASS))  # a mass
    with pytest.raises(Unprocessable) as refused:
        imaging_reports.mri_amend_report(
            mri_request_id=mri.pk, actor=neuroradiologist, addendum="y", category="routine"
        )
    assert "category" in refused.value.errors
    assert MRIRequest.objects.get(pk=mri.pk).report.category == "urgent"


def test_the_case_page_shows_the_report_before_and_after_an_amendment(
    signed_in, neurologist, pathway, neuroradiologist
):
    referral = pathway.results_review()
    imaging_reports.mri_amend_report(
        mri_request_id=pathway.mri(referral).pk,
        actor=neuroradiologist,
        addendum="Second look.",
        impression="AICA deforming the nerve.",
        category="significant_unexpected",
    )
    html = signed_in(neurologist).get(reverse("case", args=[referral.pk])).content.decode()
    assert "Second look." in html
    assert "Category before: <s>Routine</s> · now: <strong>Significant unexpected</strong>" in html
    assert "Impression before: <s>Left AICA indenting the root exit zone of CN VII.</s>" in html
    assert "category before: Routine, now: Significant unexpected" in html  # the timeline


def test_the_api_report_lists_each_amendments_changes(api, neurologist, pathway, neuroradiologist):
    referral = pathway.results_review()
    mri = pathway.mri(referral)
    imaging_reports.mri_amend_report(mri_request_id=mri.pk, actor=neuroradiologist, addendum="x", category="urgent")
    body = api(neurologist).get(f"/api/v1/reports/{mri.report.pk}/").json()
    assert body["category"] == "urgent"
    assert body["addenda"][0]["changes"] == {"category": {"before": "routine", "after": "urgent"}}


def test_raising_an_acknowledged_urgent_result_to_critical_needs_a_new_acknowledgement(pathway, neuroradiologist):
    referral = pathway.results_review(category="urgent")
    mri = pathway.mri(referral)
    imaging_reports.report_acknowledge(report_id=mri.report.pk, actor=pathway.neuro)
    imaging_reports.mri_amend_report(
        mri_request_id=mri.pk, actor=neuroradiologist, addendum="Worse.", category="critical"
    )
    report = MRIRequest.objects.get(pk=mri.pk).report
    assert report.category == "critical" and report.acknowledged_at is None
    assert referral.work_items.filter(kind=WorkItemKind.CRITICAL_RESULT_ACK, status="open").count() == 1


def test_the_reading_queue_offers_to_resume_your_own_draft_only(signed_in, neuroradiologist, study):
    drafts.report_draft_save(mri_request_id=study.pk, actor=neuroradiologist, data={"impression": "draft"})
    assert "Resume your draft" in signed_in(neuroradiologist).get(reverse("reading_queue")).content.decode()
    colleague = factories.user_with_role("neuroradiologist", "dr_rad_two")
    assert "Resume your draft" not in signed_in(colleague).get(reverse("reading_queue")).content.decode()


def test_a_lesion_found_on_a_second_look_is_added_to_the_findings_and_raises_the_category(
    pathway, neuroradiologist, signed_in, neurologist
):
    referral = pathway.results_review()
    mri = pathway.mri(referral)
    imaging_reports.mri_amend_report(
        mri_request_id=mri.pk,
        actor=neuroradiologist,
        addendum="Second look: a mass in the fourth ventricle.",
        findings=findings(lesion=MASS),
        category="critical",
    )
    report = MRIRequest.objects.get(pk=mri.pk).report
    assert (report.findings["lesion"], report.category, report.acknowledged_at) == (MASS, "critical", None)
    assert referral.work_items.filter(kind=WorkItemKind.CRITICAL_RESULT_ACK, status="open").exists()
    html = signed_in(neurologist).get(reverse("case", args=[referral.pk])).content.decode()
    assert "Findings before: <s>Neurovascular compression: present" in html
    assert "lesion: fourth ventricle, enhancing mass" in html


def test_a_lesion_added_without_raising_a_routine_category_is_refused_and_the_report_stays(pathway, neuroradiologist):
    referral = pathway.results_review()
    mri = pathway.mri(referral)
    before = MRIRequest.objects.get(pk=mri.pk).report.findings
    with pytest.raises(Unprocessable) as refused:
        imaging_reports.mri_amend_report(
            mri_request_id=mri.pk, actor=neuroradiologist, addendum="A mass.", findings=findings(lesion=MASS)
        )
    assert "category" in refused.value.errors
    assert MRIRequest.objects.get(pk=mri.pk).report.findings == before
    assert not CaseEvent.objects.filter(referral=referral, transition="amend_report").exists()


def test_the_addendum_form_starts_at_the_signed_findings_and_posting_them_untouched_changes_only_the_text(
    signed_in, pathway, neuroradiologist
):
    referral = pathway.results_review()
    mri = pathway.mri(referral)
    client = signed_in(neuroradiologist)
    page = client.get(reverse("reading", args=[mri.pk])).content.decode()
    form = page.split('value="amend_report"')[1].split("</form>")[0]
    assert 'name="findings.nvc.status" value="present" checked' in form  # as signed

    post = drafts.as_post({"findings": mri.report.findings})
    post.update({"transition": "amend_report", "addendum": "Typo in the impression fixed.", "version": mri.version})
    response = client.post(reverse("reading", args=[mri.pk]), post)

    assert response.status_code == 302, response.content.decode()[:2000]
    event = CaseEvent.objects.filter(referral=referral, transition="amend_report").get()
    assert event.data["changes"] == {}
