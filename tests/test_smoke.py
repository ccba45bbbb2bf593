from referrals.models import Referral


def test_a_case_can_be_carried_from_referral_to_closed_loop(pathway):
    referral = pathway.closed()

    referral = Referral.objects.get(pk=referral.pk)
    assert referral.state == "closed"
    assert list(referral.events.filter(kind="transition").values_list("transition", flat=True)) == [
        "triage",
        "record_assessment",
        "request_mri",
        "protocol",
        "schedule",
        "mark_performed",
        "sign_report",
        "imaging_complete",
        "conclude",
        "acknowledge",
    ]
    assert not referral.work_items.filter(status="open").exists()
