"""The structured neuroradiology report, as people read it."""

from imaging.models import summarise_findings
from tests.factories import FINDINGS_NVC


def test_report_findings_read_as_words_not_codes():
    text = summarise_findings(FINDINGS_NVC)
    assert text == "Neurovascular compression: present (left, AICA, root exit point, indentation); no lesion."


def test_a_lesion_and_hydrocephalus_are_named():
    findings = {
        "nvc": {"status": "absent"},
        "lesion": {"present": True, "location": "fourth_ventricle", "kind": "mass"},
        "hydrocephalus": True,
    }
    assert summarise_findings(findings) == (
        "Neurovascular compression: absent; lesion: fourth ventricle, mass; hydrocephalus."
    )


def test_other_findings_written_as_a_sentence_do_not_end_the_summary_with_two_full_stops():
    findings = {"nvc": {"status": "absent"}, "lesion": {"present": False}, "other": "Early obstructive hydrocephalus. "}
    assert summarise_findings(findings) == (
        "Neurovascular compression: absent; no lesion; Early obstructive hydrocephalus."
    )
