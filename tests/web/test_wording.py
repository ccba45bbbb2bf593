"""Every form's labels and errors in a clinician's words, with an error summary linking to each field.

Each web form (every transition a person takes, and the new referral) is posted empty, with empty
values and with junk; the page must say what is wrong in plain words (no `"" is not a valid
choice`, "null", "Nvc", version numbers or field names) and open with an error summary whose links
reach the fields. The API's problem+json `errors`: tests/api/test_plain_words.py.
"""

import html as htmllib
import re

import pytest
from django.urls import reverse

from carepath.pathway.roles import Role
from carepath.web import formfields
from imaging.machine import MRI_MACHINE
from referrals.inputs import ReferralDetailsInput
from referrals.machine import REFERRAL_MACHINE

FORBIDDEN = [
    "is not a valid choice",
    '""',
    "“”",
    "null",
    "Nvc",
    "Mri ",
    "version",
    "non_field_errors",
    "wrong format",
    "valid boolean",
    "valid integer",
    "Ensure this",
    "elements",
    "Expected a",
    "Not a valid",
    "True",
    "False",
]
RAW_NAME = re.compile(r"\b[a-z]+_[a-z_]+\b")  # a field or code name such as symptom_onset


def visible_text(markup: str) -> str:
    markup = re.sub(r"<(script|style)\b.*?</\1>", " ", markup, flags=re.S)
    return htmllib.unescape(re.sub(r"<[^>]+>", " ", markup))


def assert_plain(text: str, where: str) -> None:
    for phrase in FORBIDDEN:
        assert phrase not in text, f"{where}: {phrase!r} in {text[:2000]!r}"


def summary_links(markup: str) -> list[str]:
    block = re.search(r'<div class="error-summary" role="alert".*?</div>', markup, flags=re.S)
    assert block, "no error summary"
    assert re.search(r'<h\d class="error-summary-title" id="[^"]+" tabindex="-1"', block.group(0))
    return re.findall(r'href="#([^"]+)"', block.group(0))


def assert_links_reach_fields(markup: str) -> None:
    links = summary_links(markup)
    assert links, "the summary links to no field"
    for anchor in links:
        assert f'id="{anchor}"' in markup, f"summary link #{anchor} has no target"


# --- every transition's form ---------------------------------------------------------------------
def _returned(p):
    from referrals import services

    r = p.submitted()
    return services.referral_return_to_referrer(referral_id=r.pk, actor=p.neuro, reason="Which side?")


def _needs_rebooking(p):
    from imaging import services

    r = p.scheduled()
    services.mri_record_scan_failed(mri_request_id=p.mri(r).pk, actor=p.coord, outcome="motion_limited", reason="x")
    return r


BUILD = {
    "submitted": lambda p: p.submitted(),
    "returned": _returned,
    "triaged": lambda p: p.triaged(),
    "assessed": lambda p: p.assessed(),
    "results_review": lambda p: p.results_review(),
    "neurosurgery": lambda p: p.neurosurgery(),
    "concluded": lambda p: p.concluded(),
    "closed": lambda p: p.closed(),  # reopen
    "requested": lambda p: p.imaging(),
    "protocoled": lambda p: p.protocoled(),
    "scheduled": lambda p: p.scheduled(),
    "performed": lambda p: p.performed(),
    "reported": lambda p: p.results_review(),
    "needs_rebooking": _needs_rebooking,
}
PERSONA = {
    Role.NEUROLOGIST: "neuro",
    Role.NEURORADIOLOGIST: "rad",
    Role.IMAGING_COORDINATOR: "coord",
    Role.NEUROSURGEON: "surg",
    Role.PEDIATRICIAN: "ped",
}


def _forms():
    """(machine key, transition) for every form a person fills in (a required field to leave out)."""
    for key, machine in (("referral", REFERRAL_MACHINE), ("mri", MRI_MACHINE)):
        for t in machine.transitions:
            if t.is_system or t.input_serializer is None:
                continue
            if any(f.required for f in t.input_serializer().fields.values()):
                yield pytest.param(key, t, id=f"{key}-{t.name}")


def _persona(p, t):
    for role in (*sorted(t.roles), *sorted(t.relation_roles)):
        if role in PERSONA:
            return getattr(p, PERSONA[role])
    raise AssertionError(f"no persona for {t.name}")


def _open_form(p, key, t):
    """Build a case where `t` is allowed; return (url to post to, object, user)."""
    state = next(str(s) for s in t.sources if str(s) in BUILD)
    referral = BUILD[state](p)
    user = _persona(p, t)
    if key == "referral":
        return reverse("case", args=[referral.pk]), referral, user
    mri = p.mri(referral)
    if user == p.rad:
        return reverse("reading", args=[mri.pk]), mri, user
    if user == p.coord:
        return reverse("mri_board"), mri, user
    return reverse("case", args=[referral.pk]), mri, user


def _leaves(serializer_class) -> list[formfields.FieldSpec]:
    leaves = []

    def walk(specs):
        for s in specs:
            if s.children:
                walk(s.children)
            else:
                leaves.append(s)

    walk(formfields.fields_for(serializer_class))
    return leaves


def _names(serializer_class) -> list[str]:
    return [s.name for s in _leaves(serializer_class)]


def _junk(spec) -> str:
    """Text is left empty (any text is valid); every other input gets a value it cannot take."""
    return "" if spec.widget in ("text", "textarea") else "zz!"


POSTS = {
    "nothing": lambda specs: {},
    "blanks": lambda specs: {s.name: "" for s in specs},
    "junk": lambda specs: {s.name: _junk(s) for s in specs},
}


@pytest.mark.parametrize("post_kind", POSTS)
@pytest.mark.parametrize(("key", "t"), list(_forms()))
def test_every_form_says_what_is_wrong_in_plain_words_with_a_linked_summary(signed_in, pathway, key, t, post_kind):
    url, obj, user = _open_form(pathway, key, t)
    post = {"machine": key, "object": obj.pk, "transition": t.name, "version": obj.version}
    post.update(POSTS[post_kind](_leaves(t.input_serializer)))

    response = signed_in(user).post(url, post)

    markup = response.content.decode()
    assert response.status_code == 400, markup[:3000]
    dom_name = t.name.replace("_", "-")
    form = re.search(rf'<details class="action[^"]*" id="action-[^"]*-{dom_name}"[^>]*open>.*?</details>', markup, re.S)
    assert form, "the failed form is not open on the page"
    assert_plain(visible_text(markup), f"{t.name} page")
    assert not RAW_NAME.search(visible_text(form.group(0)).replace("zz!", "")), RAW_NAME.search(
        visible_text(form.group(0))
    )
    assert_links_reach_fields(form.group(0))


@pytest.mark.parametrize(("key", "t"), list(_forms()))
def test_every_label_and_help_text_is_in_words_not_field_names(key, t):
    def walk(specs):
        for s in specs:
            assert not RAW_NAME.search(s.label) and not RAW_NAME.search(s.help_text), (s.name, s.label, s.help_text)
            assert_plain(f"{s.label} {s.help_text} " + " ".join(label for _v, label in s.choices), s.name)
            assert s.label[0].isupper(), s.label
            walk(s.children)

    walk(formfields.fields_for(t.input_serializer))


def test_an_optional_select_left_at_its_default_is_not_an_error(signed_in, pathway):
    """The schedule form's "(default)" sedation posts "": it means the default, not a bad choice."""
    referral = pathway.protocoled()
    mri = pathway.mri(referral)
    from datetime import timedelta

    from django.utils import timezone

    start = (timezone.localtime() + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M")
    response = signed_in(pathway.coord).post(
        reverse("mri_board"),
        {
            "machine": "mri",
            "object": mri.pk,
            "transition": "schedule",
            "version": mri.version,
            "scheduled_start": start,
            "location": "Scanner 1",
            "sedation": "",
            "guardian": "",
        },
    )

    assert response.status_code == 302
    mri.refresh_from_db()
    assert mri.state == "scheduled"


def test_a_stale_form_shows_no_version_numbers(signed_in, neurologist, referral):
    from referrals import services

    stale = referral.version
    services.referral_triage(referral_id=referral.pk, actor=neurologist, priority="routine")
    markup = (
        signed_in(neurologist)
        .post(
            reverse("case", args=[referral.pk]),
            {"machine": "referral", "transition": "decline", "version": stale, "reason": "x", "advice": "y"},
        )
        .content.decode()
    )

    assert "Someone else changed this case" in markup
    assert_plain(visible_text(markup), "stale case page")


# --- new referral --------------------------------------------------------------------------------
NEW_PATIENT = {
    "mrn": "NEW123",
    "guardian-TOTAL_FORMS": "2",
    "guardian-INITIAL_FORMS": "0",
    "guardian-MIN_NUM_FORMS": "0",
    "guardian-MAX_NUM_FORMS": "2",
}


@pytest.mark.parametrize("post_kind", POSTS)
def test_the_new_referral_form_says_what_is_wrong_with_a_linked_summary(signed_in, pediatrician, post_kind):
    specs = [s for s in _leaves(ReferralDetailsInput) if s.name != "muscles"]
    extra = ["first_muscle", "given_name", "family_name", "birth_date", "sex", "guardian-0-name", "guardian-0-email"]
    junk = {"given_name": "", "family_name": ""}  # any name is valid: leave them out
    post = {
        **NEW_PATIENT,
        **POSTS[post_kind](specs),
        **{n: junk.get(n, "zz!") if post_kind == "junk" else "" for n in extra},
    }
    if post_kind == "nothing":
        post = dict(NEW_PATIENT)

    response = signed_in(pediatrician).post(reverse("referral_new"), post)

    markup = response.content.decode()
    assert response.status_code == 400
    assert_plain(visible_text(markup), "new referral")
    assert_links_reach_fields(markup)
    links = summary_links(markup)
    assert "f-first-muscle" in links and "f-reason" in links and "id_given_name" in links, links


def test_a_guardian_row_error_links_to_that_row(signed_in, pediatrician):
    post = {
        **NEW_PATIENT,
        "given_name": "Robin",
        "family_name": "Hale",
        "birth_date": "2018-04-02",
        "sex": "male",
        "guardian-0-name": "Jo Hale",
        "guardian-0-relationship": "father",
    }
    markup = signed_in(pediatrician).post(reverse("referral_new"), post).content.decode()

    assert "Parent or carer 1: Give a phone number or an e-mail address" in visible_text(markup)
    assert "guardian-0" in summary_links(markup)
    assert_links_reach_fields(markup)


# --- the services' own refusals --------------------------------------------------------------------
def test_a_red_flag_triage_refusal_names_asap_in_words(signed_in, pathway):
    referral = pathway.submitted(red_flags=["facial_weakness"], requested_priority="asap")
    markup = (
        signed_in(pathway.neuro)
        .post(
            reverse("case", args=[referral.pk]),
            {"machine": "referral", "transition": "triage", "version": referral.version, "priority": "routine"},
        )
        .content.decode()
    )

    text = visible_text(markup)
    assert "triage it as ASAP (seen within 48 hours), or give a reason for a lower priority" in text
    assert_links_reach_fields(markup)


def test_a_missing_contrast_refusal_names_the_protocol_not_its_code(signed_in, pathway):
    referral = pathway.imaging(suspected_lesion=True)
    mri = pathway.mri(referral)
    markup = (
        signed_in(pathway.rad)
        .post(
            reverse("reading", args=[mri.pk]),
            {
                "machine": "mri",
                "object": mri.pk,
                "transition": "protocol",
                "version": mri.version,
                "protocol": "cpa_t2_tof_gd",
                "contrast": "false",
                "duration_minutes": "45",
            },
        )
        .content.decode()
    )

    text = visible_text(markup)
    assert "needs gadolinium contrast (CPA: T2 + TOF + post-contrast T1)" in text
    assert "cpa_t2_tof_gd" not in text


def test_the_schedule_form_names_the_parent_or_carer_rather_than_asking_for_an_id(signed_in, pathway):
    referral = pathway.protocoled()
    mri = pathway.mri(referral)
    carer = referral.patient.guardians.get()
    markup = signed_in(pathway.coord).get(reverse("mri_board")).content.decode()

    form = re.search(rf'id="action-mri-{mri.pk}-schedule".*?</details>', markup, re.S).group(0)
    assert f'<option value="{carer.pk}" selected>{carer.name} ({carer.relationship})</option>' in form
    assert 'type="number"' not in re.search(
        r'<div class="field[^"]*">\s*<label for="[^"]*-f-guardian".*?</div>', form, re.S
    ).group(0)


def test_priority_badges_read_asap_not_the_code(signed_in, pathway):
    referral = pathway.triaged(red_flags=["facial_weakness"], requested_priority="asap")
    for user, url in (
        (pathway.neuro, reverse("case", args=[referral.pk])),
        (pathway.neuro, reverse("my_work")),
    ):
        markup = signed_in(user).get(url).content.decode()
        assert '<span class="pill asap">ASAP</span>' in markup, url
        assert ">asap<" not in markup


def test_a_score_beyond_its_scale_names_the_scale_not_its_code(signed_in, pathway):
    referral = pathway.triaged()
    markup = (
        signed_in(pathway.neuro)
        .post(
            reverse("case", args=[referral.pk]),
            {
                "machine": "referral",
                "transition": "record_assessment",
                "version": referral.version,
                "findings": "Twitching.",
                "working_diagnosis": "hfs_primary",
                "brow_lift_sign": "",
                "severity.scale": "smc",
                "severity.score": "6",
                "mri_indicated": "true",
            },
        )
        .content.decode()
    )

    text = visible_text(markup)
    assert "The Samsung Medical Center grading scale runs from 0 to 4." in text
    assert " smc " not in text
    assert_links_reach_fields(markup)
