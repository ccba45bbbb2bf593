"""Sedation defaults at each age-band edge, and fasting cut-offs as clock times (docs/design.md §3)."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from imaging.rules import RAISED_ICP_FLAGS, sedation_default
from imaging.services import fasting_cutoffs
from referrals.choices import RedFlag

SCAN_DAY = date(2026, 6, 15)


@pytest.mark.parametrize(
    ("birth_date", "expected"),
    [
        (date(2026, 1, 1), "feed_and_wrap"),  # 5 months 14 days
        (date(2025, 12, 16), "feed_and_wrap"),  # one day short of 6 months
        (date(2025, 12, 15), "general_anaesthesia"),  # exactly 6 months
        (date(2019, 6, 16), "general_anaesthesia"),  # one day short of 7 years
        (date(2019, 6, 15), "none"),  # 7th birthday: awake
        (date(2013, 1, 1), "none"),  # 13 years
    ],
)
def test_sedation_default_follows_the_age_bands(birth_date, expected):
    assert sedation_default(birth_date=birth_date, on=SCAN_DAY, mass_suspected=False) == expected


@pytest.mark.parametrize("birth_date", [date(2026, 3, 1), date(2013, 1, 1)])
def test_a_suspected_posterior_fossa_mass_means_general_anaesthesia_at_any_age(birth_date):
    assert sedation_default(birth_date=birth_date, on=SCAN_DAY, mass_suspected=True) == "general_anaesthesia"


def test_the_raised_pressure_flags_imaging_reads_are_referral_red_flag_codes():
    # imaging never imports referrals, so it names these codes itself; this keeps the two in step
    assert RAISED_ICP_FLAGS <= set(RedFlag.values)


def test_age_bands_are_settings(settings):
    settings.SEDATION_AWAKE_FROM_YEARS = 10
    assert sedation_default(birth_date=date(2018, 1, 1), on=SCAN_DAY, mass_suspected=False) == "general_anaesthesia"


def test_fasting_cutoffs_are_clock_times_before_an_anaesthetic():
    start = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)
    cutoffs = fasting_cutoffs(start, "general_anaesthesia")
    assert cutoffs == {
        "solids_until": datetime(2026, 6, 15, 3, 0, tzinfo=UTC),
        "milk_until": datetime(2026, 6, 15, 5, 0, tzinfo=UTC),
        "clear_fluids_until": datetime(2026, 6, 15, 8, 0, tzinfo=UTC),
    }


def test_no_fasting_for_an_awake_scan():
    assert set(fasting_cutoffs(timezone.now(), "none").values()) == {None}


def test_scheduling_a_four_year_old_books_general_anaesthesia_with_fasting_times(pathway, pediatrician):
    from tests import factories as f

    patient = f.make_patient(pediatrician, birth_date=timezone.localdate() - timedelta(days=4 * 365 + 30))
    referral = pathway.scheduled(patient=patient)

    appointment = pathway.mri(referral).appointment
    assert appointment.sedation == appointment.sedation_default == "general_anaesthesia"
    assert appointment.solids_until == appointment.start - timedelta(hours=6)


def test_scheduling_a_thirteen_year_old_books_an_awake_scan(pathway, pediatrician):
    from tests import factories as f

    patient = f.make_patient(pediatrician, birth_date=timezone.localdate() - timedelta(days=13 * 365 + 30))
    referral = pathway.scheduled(patient=patient)

    appointment = pathway.mri(referral).appointment
    assert appointment.sedation == "none" and appointment.solids_until is None
