"""`GET /api/v1/pathway/` and the case page read the same declarations, and the API and the pages
both go into a transition through `workflow.perform` (carepath/pathway/workflow.py)."""

from unittest import mock

from django.urls import reverse

from carepath.pathway import workflow
from carepath.pathway.workflow import SECONDARY
from referrals.machine import REFERRAL_MACHINE


def test_the_pathway_endpoint_adds_group_and_effects_and_keeps_every_field(api, neurologist):
    body = api(neurologist).get("/api/v1/pathway/").json()

    triage = next(t for t in body["referral"]["transitions"] if t["name"] == "triage")
    assert {"name", "label", "from", "to", "roles", "relation", "relation_roles", "system", "data"} <= set(triage)
    assert triage["group"] == "primary"
    assert triage["effects"] == {
        "opens": ["first_assessment"],
        "closes": ["triage"],
        "closes_as": "done",
        "clock": "start",
    }
    cancel = next(t for t in body["mri_request"]["transitions"] if t["name"] == "cancel")
    assert cancel["group"] == "secondary" and cancel["effects"]["closes_as"] == "cancelled"


def test_the_case_page_groups_its_buttons_as_the_declarations_say(client, neurologist, referral):
    client.force_login(neurologist)
    html = client.get(reverse("case", args=[referral.pk])).content.decode()
    primary, secondary = html.split("Other actions", 1)
    for name in REFERRAL_MACHINE.allowed_for(referral, neurologist):  # triage; return_to_referrer, decline, cancel
        page_part = secondary if REFERRAL_MACHINE.get(name).group == SECONDARY else primary
        assert f'value="{name}"' in page_part, name


# --- perform: the one way in ---------------------------------------------------------------------
def test_the_api_and_the_case_page_both_go_through_perform(api, client, neurologist, referral):
    with mock.patch.object(workflow, "perform", wraps=workflow.perform) as perform:
        api(neurologist).post(
            f"/api/v1/referrals/{referral.pk}/transitions/",
            {"transition": "return_to_referrer", "data": {"reason": "Does it continue in sleep?"}},
            format="json",
        )
        referral.refresh_from_db()
        client.force_login(neurologist)
        client.post(
            reverse("case", args=[referral.pk]),
            {"machine": "referral", "transition": "cancel", "version": referral.version, "reason": "Duplicate."},
        )

    assert [c.args[2] for c in perform.call_args_list] == ["return_to_referrer", "cancel"]
    referral.refresh_from_db()
    assert referral.state == "cancelled"
