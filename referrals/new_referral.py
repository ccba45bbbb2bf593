"""The new-referral page (docs/design.md §6, docs/ui.md): find the child by MRN or register them,
then write the referral. The patient (new, or a shared record: referrals/patients.py) and the
referral are written together by referrals/intake.py; the referral's fields are drawn from and
validated by its input serializer (carepath/web/formfields.py).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from carepath.pathway import access, audit, identity
from carepath.pathway.errors import InvalidData
from carepath.web import formfields
from carepath.web.formfields import int_or_none

from . import intake, rules, selectors
from .choices import Muscle, RedFlag
from .forms import FindPatientForm, GuardianFormSet, PatientForm, first_muscle_choices, muscles_from_post
from .inputs import ReferralDetailsInput
from .models import Referral
from .patients import PossibleDuplicatePatient


def _referral_fields(data=None, errors=None):
    """The serializer's fields, minus muscles (drawn by hand: the first muscle, then the others)."""
    specs = formfields.fields_for(ReferralDetailsInput, data=data, errors=errors)
    return {s.name: s for s in specs}


@login_required
def referral_new(request: HttpRequest) -> HttpResponse:
    if not access.can_create_referral(request.user):
        raise PermissionDenied("Only referring clinicians write referrals here.")
    if request.method == "POST":
        return _referral_create(request)
    find = FindPatientForm(request.GET or None)
    patient, patient_form = None, None
    if find.is_bound and find.is_valid():
        mrn = identity.clean_mrn(find.cleaned_data["mrn"])
        patient = selectors.patients_visible_to(request.user).filter(mrn_key=identity.mrn_key(mrn)).first()
        if patient is not None:
            audit.record_view(request.user, patient, "new referral: patient found by MRN")
        else:
            patient_form = PatientForm(initial={"mrn": mrn})
    return _render_new(
        request,
        find=find,
        patient=patient,
        patient_form=patient_form,
        guardians=GuardianFormSet(prefix="guardian") if patient_form else None,
    )


def _render_new(
    request, *, find, patient, patient_form, guardians, data=None, errors=None, status=200, duplicate=False
):
    errors = errors or {}
    fields = _referral_fields(data, errors)
    other_errors = formfields.unclaimed_errors(
        {k: v for k, v in errors.items() if k not in ("muscles", "patient")}, list(fields.values())
    )
    summary = _new_referral_summary(patient_form, guardians, fields, errors, other_errors)
    return render(
        request,
        "referrals/new_referral.html",
        {
            "summary": summary,
            "find": find,
            "patient": patient,
            "patient_form": patient_form,
            "guardians": guardians,
            "f": fields,
            "first_muscle_choices": first_muscle_choices(),
            "muscle_choices": Muscle.choices,
            "first_muscle": data.get("first_muscle", "") if data is not None else "",
            "other_muscles": data.getlist("muscles") if data is not None else [],
            "muscle_errors": errors.get("muscles", []),
            "patient_errors": errors.get("patient", []),
            "other_errors": other_errors,
            "red_flag_choices": RedFlag.choices,
            "duplicate": duplicate,  # a patient with the same name and birth date exists: confirm
            "has_red_flag": bool(data.getlist("red_flags")) if data is not None else False,
            "patient_is_adult": patient is not None
            and rules.age_in_years(patient.birth_date, timezone.localdate()) >= rules.ADULT_AGE,
        },
        status=status,
    )


def _new_referral_summary(patient_form, guardians, fields, errors, other_errors) -> list[formfields.SummaryItem]:
    """Every error of the new-referral page in page order, each linking to its field."""
    items = formfields.django_form_items(patient_form)
    if guardians is not None and guardians.is_bound:
        for i, form in enumerate(guardians.forms):
            items += formfields.django_form_items(
                form, label_prefix=f"Parent or carer {i + 1}: ", anchor=f"guardian-{i}"
            )
        items += [formfields.SummaryItem("Parents or carers", m, "guardians") for m in guardians.non_form_errors()]
    items += [formfields.SummaryItem("Child", m) for m in errors.get("patient", [])]
    for spec in fields.values():
        if spec.name == "muscles":  # drawn by hand: the first muscle's select, then the others
            items += [
                formfields.SummaryItem("Where did it start?", m, "f-first-muscle") for m in errors.get("muscles", [])
            ]
        else:
            items += formfields.summary_items([spec])
    return items + [formfields.SummaryItem("", m) for m in other_errors]


def _referral_create(request: HttpRequest) -> HttpResponse:
    post = request.POST
    data = formfields.without_blanks(ReferralDetailsInput, post)
    data.setlist("muscles", muscles_from_post(post))
    patient = None
    patient_form = guardians = None
    if post.get("patient"):
        patient = selectors.patients_visible_to(request.user).filter(pk=int_or_none(post.get("patient"))).first()
        if patient is None:
            raise Http404("No such patient")
    else:
        patient_form = PatientForm(post)
        guardians = GuardianFormSet(post, prefix="guardian")
    serializer = ReferralDetailsInput(data=data)
    errors = {} if serializer.is_valid() else formfields.flatten_errors(serializer.errors)
    forms_ok = patient is not None or (patient_form.is_valid() and guardians.is_valid())
    duplicate, status = False, 400
    if not errors and forms_ok:
        confirmed = post.get("confirm_new_patient") == "1"
        try:
            referral, shared = _create(
                request.user, patient, patient_form, guardians, serializer.validated_data, confirmed
            )
        except PossibleDuplicatePatient:  # the confirm step: nothing was written
            duplicate, status = True, 409
        except InvalidData as exc:
            errors = formfields.flatten_errors(exc.errors)
            if patient_form is not None:
                for name in ("mrn", "birth_date"):
                    for message in errors.pop(name, []):
                        patient_form.add_error(name, message)
        else:
            messages.success(request, f"Referral {referral.reference} sent to neurology.")
            if shared:
                messages.info(request, SHARED_RECORD)
            return redirect("case", pk=referral.pk)
    find = FindPatientForm(initial={"mrn": patient.mrn if patient else post.get("mrn", "")})
    return _render_new(
        request,
        find=find,
        patient=patient,
        patient_form=patient_form,
        guardians=guardians,
        data=post,
        errors=errors,
        status=status,
        duplicate=duplicate,
    )


SHARED_RECORD = (
    "This child was already registered with CarePath: your referral uses the shared record "
    "(the parents or carers already on it are kept). Only you see your referrals."
)


@transaction.atomic
def _create(actor, patient, patient_form, guardians, details, confirmed: bool) -> tuple[Referral, bool]:
    """Patient (when new, or shared: referrals/patients.py) and referral together: an error in
    either leaves nothing half-made. Returns the referral and whether the record was shared."""
    shared = False
    if patient is None:
        rows = [{k: v for k, v in f.cleaned_data.items()} for f in guardians.forms if f.cleaned_data.get("name")]
        patient = intake.patient_create(
            actor=actor, guardians=rows, confirm_new_patient=confirmed, **patient_form.cleaned_data
        )
        shared = patient.shared
    return intake.referral_create(actor=actor, patient_id=patient.pk, **details), shared
