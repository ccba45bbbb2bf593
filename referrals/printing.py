"""Print views of a case: the outcome letter and the case summary (docs/ui.md, "Print").

Plain pages with print CSS and nothing to click but the way back: no navigation, no forms, no
buttons. They are the case's record, so the same access rule as the case page applies (an invisible
case is 404) and each print is audited as a read, naming what was printed.
"""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from carepath.models import CaseEvent
from carepath.pathway import audit

from . import letters
from .choices import Muscle, RedFlag
from .timeline import event_label
from .views import _visible  # the case page's access check

REMINDERS = (CaseEvent.Kind.REMINDER, CaseEvent.Kind.ESCALATION)  # the clock's messages: not the case's story


@login_required
def outcome_letter(request: HttpRequest, pk: int) -> HttpResponse:
    referral = _visible(request.user, pk)
    outcome = getattr(referral, "outcome", None)
    if outcome is None:
        raise Http404("This case has no outcome letter yet")
    audit.record_view(request.user, referral, "print: outcome letter")
    return render(
        request,
        "referrals/print/outcome_letter.html",
        {"referral": referral, "patient": referral.patient, "outcome": outcome},
    )


@login_required
def case_summary(request: HttpRequest, pk: int) -> HttpResponse:
    referral = _visible(request.user, pk)
    audit.record_view(request.user, referral, "print: case summary")
    events = list(
        CaseEvent.objects.filter(referral=referral)
        .exclude(kind__in=REMINDERS)
        .select_related("actor")
        .order_by("at", "id")
    )
    for event in events:
        event.label = event_label(event)
    patient = referral.patient
    mri_requests = list(referral.mri_requests.all())
    results = {r["mri"].pk: r for r in letters.mri_results(referral)}
    for mri in mri_requests:
        mri.result = results.get(mri.pk)
    return render(
        request,
        "referrals/print/case_summary.html",
        {
            "referral": referral,
            "patient": patient,
            "age": letters.age_in_words(patient.birth_date),
            "referrer": letters.person_name(referral.referred_by or referral.created_by),
            "red_flags": [RedFlag(c).label for c in referral.red_flags if c in RedFlag.values],
            "muscles": [Muscle(c).label for c in referral.muscles if c in Muscle.values],
            "assessment": getattr(referral, "assessment", None),
            "mri_requests": mri_requests,
            "consults": list(referral.consults.all()),
            "outcome": getattr(referral, "outcome", None),
            "events": events,
        },
    )
