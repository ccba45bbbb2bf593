"""The scan performed (ORM^O01/OMI^O23 ORC-5 CM) and its result (ORU^R01, OBR-25 P/F/C) from the
simulated RIS over a real MLLP connection: marked performed, drafted, signed, amended; a result
with text only waits for the neuroradiologist to confirm the structured findings."""

from datetime import timedelta

import pytest
from django.utils import timezone

from imaging.models import Appointment, MRIRequest, NeuroradiologyReport, ReportDraft
from integrations.hl7 import samples
from integrations.hl7.models import InboundMessage
from integrations.hl7.orders import placer_number

from .conftest import ack_of

pytestmark = pytest.mark.django_db(transaction=True)

STRUCTURED = {
    "category": "urgent",
    "findings.nvc.status": "present",
    "findings.nvc.side": "left",
    "findings.nvc.vessel": "aica",
    "findings.nvc.segment": "root_exit_point",
    "findings.nvc.severity": "indentation",
    "findings.lesion.present": "N",
}


def scanned_earlier_today(pathway):
    """A scheduled case whose appointment was an hour ago."""
    mri = pathway.mri(pathway.scheduled())
    now = timezone.now()
    Appointment.objects.filter(pk=mri.appointment_id).update(start=now - timedelta(hours=1), end=now)
    return MRIRequest.objects.get(pk=mri.pk)


@pytest.mark.parametrize("kind", ["ORM", "OMI"])
def test_a_completed_order_marks_the_scan_performed_with_the_accession_number(pathway, ris_client, kind):
    mri = scanned_earlier_today(pathway)
    scanned = timezone.now()  # after the request (made a moment ago), after the appointment began

    ack = ris_client(
        samples.order_status(
            kind,
            f"{kind}-CM",
            placer=placer_number(mri.pk),
            filler="F7",
            status="CM",
            performed_at=scanned,
            accession=f"ACC-{kind}",
        )
    )

    mri.refresh_from_db()
    assert ack_of(ack) == ("AA", "Done: mark_performed.")
    assert (mri.state, mri.accession_number) == ("performed", f"ACC-{kind}")
    assert abs(mri.performed_at - scanned) < timedelta(seconds=1)


def test_an_in_progress_status_is_recorded_and_moves_nothing(pathway, ris_client):
    mri = scanned_earlier_today(pathway)

    ack = ris_client(samples.order_status("OMI", "IP-1", placer=placer_number(mri.pk), status="IP"))

    mri.refresh_from_db()
    assert ack_of(ack)[0] == "AA" and mri.state == "scheduled"
    assert InboundMessage.objects.get(control_id="IP-1").transition == ""


def performed(pathway):
    return pathway.mri(pathway.performed())


def test_a_final_result_with_structured_findings_signs_the_report(pathway, ris_client, neurologist):
    mri = performed(pathway)

    ack = ris_client(
        samples.oru(
            "R-F1",
            placer=placer_number(mri.pk),
            status="F",
            text="Left AICA indents CN VII.\nNo mass.",
            structured=STRUCTURED,
        )
    )

    mri.refresh_from_db()
    assert ack_of(ack)[0] == "AA"
    report = NeuroradiologyReport.objects.get(mri_request=mri)
    assert mri.state == "reported"
    assert report.impression == "Left AICA indents CN VII.\nNo mass."
    assert (report.category, report.findings["nvc"]["vessel"], report.findings["lesion"]["present"]) == (
        "urgent",
        "aica",
        False,
    )
    assert mri.work_items.filter(kind="critical_result_ack", status="open").exists()  # neurology must acknowledge


def test_a_final_result_with_text_only_is_held_for_the_neuroradiologist_who_protocoled_it(pathway, ris_client):
    mri = performed(pathway)

    ack = ris_client(samples.oru("R-F2", placer=placer_number(mri.pk), status="F", text="Normal study."))

    mri.refresh_from_db()
    code, text = ack_of(ack)
    assert code == "AA" and "confirm" in text
    assert mri.state == "performed"  # still in the reading queue: nothing reaches neurology unconfirmed
    assert not NeuroradiologyReport.objects.filter(mri_request=mri).exists()
    draft = ReportDraft.objects.get(mri_request=mri)
    assert (draft.author, draft.data) == (mri.protocoled_by, {"impression": "Normal study."})
    assert InboundMessage.objects.get(control_id="R-F2").outcome == "held"


def test_a_preliminary_result_is_a_draft_and_a_final_one_then_signs(pathway, ris_client):
    mri = performed(pathway)

    prelim = ris_client(samples.oru("R-P1", placer=placer_number(mri.pk), status="P", text="Preliminary: normal."))
    final = ris_client(
        samples.oru("R-F3", placer=placer_number(mri.pk), status="F", text="Final: NVC.", structured=STRUCTURED)
    )

    assert (ack_of(prelim)[0], ack_of(final)[0]) == ("AA", "AA")
    assert InboundMessage.objects.get(control_id="R-P1").outcome == "processed"
    assert not ReportDraft.objects.filter(mri_request=mri).exists()  # signing deletes the draft
    assert NeuroradiologyReport.objects.get(mri_request=mri).impression == "Final: NVC."


def test_a_correction_after_signing_is_an_addendum_with_the_new_impression(pathway, ris_client):
    mri = performed(pathway)
    ris_client(samples.oru("R-F4", placer=placer_number(mri.pk), status="F", text="NVC.", structured=STRUCTURED))

    ack = ris_client(
        samples.oru("R-C1", placer=placer_number(mri.pk), status="C", text="NVC; also a small arachnoid cyst.")
    )

    report = NeuroradiologyReport.objects.get(mri_request=mri)
    assert ack_of(ack)[0] == "AA"
    assert report.impression == "NVC; also a small arachnoid cyst."
    assert report.addenda.get().text == "Corrected in the RIS: NVC; also a small arachnoid cyst."


def test_a_structured_report_that_contradicts_itself_is_ae_and_signs_nothing(pathway, ris_client):
    mri = performed(pathway)
    contradictory = STRUCTURED | {"findings.nvc.status": "absent"}  # details given, compression absent

    ack = ris_client(samples.oru("R-F5", placer=placer_number(mri.pk), status="F", text="?", structured=contradictory))

    mri.refresh_from_db()
    assert ack_of(ack)[0] == "AE"
    assert mri.state == "performed" and not NeuroradiologyReport.objects.exists()


def test_a_result_without_a_status_or_text_is_ar(pathway, ris_client):
    mri = performed(pathway)

    no_status = ris_client(samples.oru("R-X1", placer=placer_number(mri.pk), status="I", text="Images."))
    no_text = ris_client(samples.oru("R-X2", placer=placer_number(mri.pk), status="F", text=""))

    assert (ack_of(no_status)[0], no_status["ERR-3.1"]) == ("AR", "103")
    assert (ack_of(no_text)[0], no_text["ERR-3.1"]) == ("AR", "101")


def test_the_held_text_is_filled_in_on_the_neuroradiologists_reading_page(pathway, ris_client, client, settings):
    settings.SECURE_SSL_REDIRECT = False
    mri = performed(pathway)
    ris_client(samples.oru("R-F6", placer=placer_number(mri.pk), status="F", text="Normal study, held."))

    client.force_login(mri.protocoled_by)
    queue = client.get("/mri/reading/").content.decode()
    page = client.get(f"/mri/reading/{mri.pk}/").content.decode()

    assert "Resume your draft" in queue
    assert "is filled in below" in page and "Normal study, held." in page
