"""The sample Bundle of docs/integrations.md ("Inbound FHIR referral") is what the endpoint accepts:
posted as written, it creates the child, the mother and the referral the mapping table says."""

import json
import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from carepath.pathway.roles import Role
from referrals.models import Referral
from tests import factories

from . import fhir_messages as m

DOC = Path(django_settings.BASE_DIR) / "docs" / "integrations.md"


def sample_bundle() -> dict:
    section = DOC.read_text().split("### Sample Bundle", 1)[1]
    return json.loads(re.search(r"```json\n(.*?)```", section, re.S).group(1))


def test_the_documented_sample_bundle_creates_the_referral_it_describes(groups, pediatrician, settings):
    settings.SECURE_SSL_REDIRECT = False
    client = m.ehr_client_for(factories.UserFactory(role=Role.EHR_CLIENT, username="ehr"))

    response = m.post(client, sample_bundle())

    assert response.status_code == 201, response.json()
    referral = Referral.objects.get()
    assert (referral.patient.mrn, referral.requested_priority, referral.side) == ("EHR-2001", "urgent", "left")
    assert referral.muscles == ["orbicularis_oculi", "buccinator"] and referral.spread is True
    assert referral.referred_by == pediatrician
    assert [(g.name, g.relationship) for g in referral.patient.guardians.all()] == [("Grace Okafor", "mother")]


@pytest.mark.parametrize("element", ["ServiceRequest.subject", "Patient.birthDate"])
def test_the_documented_error_expressions_are_what_the_endpoint_names(groups, pediatrician, settings, element):
    settings.SECURE_SSL_REDIRECT = False
    client = m.ehr_client_for(factories.UserFactory(role=Role.EHR_CLIENT, username="ehr"))
    resource_type, key = element.split(".")
    bundle = sample_bundle()
    m.entry(bundle, resource_type).pop(key)

    outcome = m.post(client, bundle).json()

    assert element in [e for issue in outcome["issue"] for e in issue.get("expression", [])]
    assert element in DOC.read_text()
