"""Search for staff (issue 13 item 10): the header box on every page, results by case number, MRN
or name within the access rules, every search audited. Selector and page, with the personas."""

from datetime import date

import pytest
from django.urls import reverse

from carepath.models import AuditLog
from referrals.search import search
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def hale(pediatrician):
    patient = factories.make_patient(
        pediatrician, mrn="AB-1234", given_name="Robin", family_name="Hale", birth_date=date(2017, 3, 9)
    )
    return factories.make_referral(pediatrician, patient=patient)


@pytest.mark.parametrize(
    "query", ["CP-{pk:06d}", "cp{pk}", "{pk}", "ab-1234", " AB-1234\u200b", "hale", "HALE rob", "robin hale"]
)
def test_a_neurologist_finds_a_case_by_case_number_mrn_or_name(neurologist, hale, query):
    found = search(neurologist, query.format(pk=hale.pk))

    assert [r.pk for r in found.cases] == [hale.pk]


def test_the_access_rules_apply_to_every_persona(pediatrician, other_pediatrician, coordinator, neurologist, hale):
    assert [r.pk for r in search(pediatrician, "hale").cases] == [hale.pk]  # the referrer
    assert search(other_pediatrician, "hale").count == 0  # another pediatrician: nothing
    assert search(other_pediatrician, f"CP-{hale.pk:06d}").count == 0
    assert search(coordinator, "AB-1234").count == 0  # imaging: not until the case reaches imaging
    assert search(neurologist, "AB-1234").count == 1


def test_a_pediatrician_finds_a_child_they_registered_without_a_referral(pediatrician, other_pediatrician):
    factories.make_patient(pediatrician, mrn="NEW-1", given_name="Sam", family_name="Lee")

    mine = search(pediatrician, "lee")

    assert [p.mrn for p in mine.children] == ["NEW-1"] and not mine.cases
    assert search(other_pediatrician, "NEW-1").count == 0


def test_the_page_lists_results_and_audits_the_query_and_who(signed_in, neurologist, hale):
    response = signed_in(neurologist).get(reverse("search"), {"q": "Hale"})

    html = response.content.decode()
    assert response.status_code == 200
    assert f'href="{reverse("case", args=[hale.pk])}"' in html and "HALE, Robin" in html
    row = AuditLog.objects.get(object_type="search", action="list")
    assert row.actor == neurologist and row.changes["query"] == "Hale"
    assert row.changes["cases"] == [hale.pk] and row.patient_id == hale.patient_id


def test_a_search_that_finds_nothing_is_audited_too(signed_in, other_pediatrician, hale):
    html = signed_in(other_pediatrician).get(reverse("search"), {"q": "AB-1234"}).content.decode()

    assert "<strong>0</strong> results" in html and "Hale" not in html.replace("“", "")
    row = AuditLog.objects.get(object_type="search", action="list")
    assert row.actor == other_pediatrician and row.changes == {"query": "AB-1234", "cases": [], "patients": []}


def test_api_clients_and_roleless_users_may_not_search(signed_in, outsider, groups):
    ehr = factories.UserFactory(role="ehr_client", username="ehr")

    assert signed_in(outsider).get(reverse("search"), {"q": "x"}).status_code == 403
    assert signed_in(ehr).get(reverse("search"), {"q": "x"}).status_code == 403
    assert not AuditLog.objects.filter(object_type="search", action="list").exists()  # only the denials


def test_every_page_header_carries_the_search_box_for_staff(signed_in, neurologist, coordinator, outsider):
    for user, url in (
        (neurologist, reverse("my_work")),
        (coordinator, reverse("mri_board")),
        (neurologist, reverse("notifications")),
    ):
        html = signed_in(user).get(url).content.decode()
        assert 'role="search"' in html and 'name="q"' in html
    assert 'role="search"' not in signed_in(outsider).get(reverse("my_work")).content.decode()


def test_the_search_page_reads_a_bounded_number_of_queries(signed_in, neurologist, hale, django_assert_max_num_queries):
    client = signed_in(neurologist)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("search"), {"q": "hale"}).status_code == 200
