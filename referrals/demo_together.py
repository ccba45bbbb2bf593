"""seed_demo's "working together on a case" (issue 18; README "What to try"): what a clinician signing in
finds of notes, files, handing steps on, MDT meetings and follow-up, each made through the same
services the pages and the API call (so the timeline, the audit log, the work items and the inboxes are
as they would be), at the times the stories say.

- Notes: Grace's case (DEMO0004) has Dr Patel's note, its amendment (she wrote "right" for the left
  eye), and a note naming @dr.khan, who finds it in Notifications; Ethan's (DEMO0003) one naming @dr.patel.
- Files: the referral letter (a PDF) and the family's video of the spasm (with its poster frame) on
  Grace's case; a family upload link sent for Ava (DEMO0002), not used yet.
- Handing on: Ethan's not-brought review given by Dr Patel to Dr Li, with the reason; Dr Li away this
  week, her work delegated to Dr Patel (it shows, marked, in his My work); Ella's results review
  (DEMO0017) snoozed by Dr Patel until after next week's MDT; Ruby's closed case (DEMO0014) reopened.
- MDT: a past meeting whose signed decisions opened the next steps (Zara's toxin, DEMO0018, still to
  give: on neurology's My work; Isla's surgery, DEMO0012, done); next week's meeting with Ella and
  Ruby on its list, each with neurology's question.
- Follow-up: Isla's visits after microvascular decompression (the first due this week); Ruby's re-dose
  review after botulinum toxin, due in a few days; Amber's (DEMO0037, a new child) missed, so a
  neurologist review is open.

`STORIES` run with seed_demo's other stories (child 18); `seed` runs after them all (and adds child 37), so
each case's number is its child's."""

import io
from datetime import datetime, time, timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from carepath.models import WorkItem, WorkItemKind, WorkItemStatus
from carepath.pathway import delegation, workflow, workitems_handover
from imaging.capacity.demo import SITE
from imaging.capacity.models import Site

from . import demo_media, letters, notes, samples
from .attachments import services as attachments
from .followup import services as followup
from .followup.models import FollowUpVisit
from .machine import REFERRAL_MACHINE
from .mdt import services as mdt
from .models import Referral

TEAM = ("dr.patel", "dr.li", "dr.novak", "dr.garcia")
# What each demo user finds of working together (`seed_demo --list-users`, printed by `./dev up`).
WHAT_TO_TRY = {
    "dr.khan": "Notifications: Dr Patel's @mention on Grace (CP-000004)",
    "dr.osei": "Ava (CP-000002): the upload link waiting for her family",
    "dr.patel": "My work: Dr Li's steps delegated to you, the MDT's toxin step; Grace (CP-000004)",
    "dr.li": "MDT meetings: next week's list; away this week",
    "dr.novak": "Isla (CP-000012): follow-up after microvascular decompression",
}


def nvc_for_mdt(s) -> None:
    """Zara, 12: left facial nerve compression on MRI, in results review before the MDT."""
    r = s.child(18, "Zara", "Hughes", 80, years=12, muscles=("orbicularis_oculi", "buccinator"))
    mri = s.to_mri(r, triage=78, assess=60, request=60, protocol=59)
    s.scan(mri, booked=50, scanned=30)
    s.report(mri, 28, samples.FINDINGS_NVC, samples.IMPRESSION_NVC)


def toxin_for_years(s) -> None:
    """Amber, 15: normal MRI, primary hemifacial spasm treated with botulinum toxin; the loop closed."""
    amber = s.child(37, "Amber", "Lewis", 260, years=15, onset_days=440)  # twitching for 6 months when referred
    mri = s.to_mri(amber, triage=258, assess=240, request=240, protocol=239)
    s.scan(mri, booked=230, scanned=220)
    s.report(mri, 218, samples.FINDINGS_NORMAL, samples.IMPRESSION_NORMAL)
    conclude(s, 210, mri.referral_id, follow_up="Re-dose review 12 weeks after each injection.")
    s.step(205, perform, name="acknowledge", obj_id=mri.referral_id, actor=s.users["dr.khan"])


def conclude(s, days_ago, referral_id: int, *, follow_up: str) -> None:
    """Dr Patel concludes on botulinum toxin with the letter the conclude form drafts (referrals/letters.py),
    its diagnosis, plan and follow-up filled in from the form's answers as concluding does."""

    def with_letter(actor):
        draft = letters.outcome_letter_draft(Referral.objects.get(pk=referral_id), author=actor)
        advice = f"{follow_up} Please refer her again sooner if the twitching spreads or she has headaches."
        data = {**samples.CONCLUSION, "follow_up": advice, "letter": draft}
        return perform(name="conclude", obj_id=referral_id, actor=actor, data=data)

    s.step(days_ago, with_letter, actor=s.users["dr.patel"])


def perform(*, name: str, obj_id: int, actor, data=None):
    """A transition of the case the way the pages and the API take it (`workflow.perform`)."""
    return workflow.perform(REFERRAL_MACHINE, obj_id, name, actor, data)


STORIES = [nvc_for_mdt]  # child 18, before the coming week's 19-36 (referrals/demo_week.py)


def seed(s) -> None:
    """After every story and the demo's site: the order is the stories' (a case is reopened before it
    goes on a list; a step is given to Dr Li before she goes away)."""
    toxin_for_years(s)
    found = Referral.objects.filter(patient__mrn__in=[f"DEMO{n:04d}" for n in (2, 3, 4, 12, 14, 17, 18, 37)])
    case = {r.patient.mrn: r for r in found.select_related("patient")}
    site = Site.objects.get(name=SITE)
    files_and_notes(s, grace=case["DEMO0004"], ava=case["DEMO0002"])
    past_meeting(s, site, zara=case["DEMO0018"], isla=case["DEMO0012"])
    treatments(s, site, isla=case["DEMO0012"], ruby=case["DEMO0014"], amber=case["DEMO0037"])
    handing_on(s, ethan=case["DEMO0003"], ella=case["DEMO0017"])
    reopen_and_next_meeting(s, site, ruby=case["DEMO0014"], ella=case["DEMO0017"])


# --- notes and files ------------------------------------------------------------------------------
LETTER = [
    "Children's Community Health Centre, 4 Park Lane",
    "",
    "Dear neurology colleagues,",
    "",
    "Re: Grace HUGHES, age 12, MRN DEMO0004",
    "",
    "Thank you for seeing Grace, who for six months has had twitching of the left eye,",
    "now spreading to the left cheek, several times a day and worse when she is tired.",
    "She is otherwise well: no headaches, no hearing loss, normal development.",
    "Examination between episodes is normal. Her mother has noticed the left eyebrow",
    "lifting as the eye closes. I would be grateful for your assessment and imaging.",
    "",
    "Yours sincerely,",
    "Dr Aisha Khan, paediatrician",
]


def files_and_notes(s, *, grace, ava) -> None:
    """Grace: the letter, notes (one amended), the link her family used and their video; Ava: a link
    sent, not used yet."""
    letter = {"category": "letter", "title": "Referral letter from Dr Khan", "original_name": "referral-letter.pdf"}
    letter_file = io.BytesIO(demo_media.letter_pdf(LETTER))
    s.act(
        s.ago(days=30, hours=-1),
        attachments.attachment_upload,
        "dr.khan",
        referral_id=grace.pk,
        file=letter_file,
        **letter,
    )
    slip = (
        "Phoned Grace's mother: the right eye squeezes shut and the cheek pulls up several times a day, worse "
        "when she is tired. I have sent a link for a video of an episode."
    )
    first = s.act(s.ago(days=2, hours=2), notes.note_add, "dr.patel", referral_id=grace.pk, text=slip)
    fixed = slip.replace("the right eye", "the left eye (not the right, as I first wrote)")
    s.act(s.ago(days=2, hours=1), notes.note_add, "dr.patel", referral_id=grace.pk, text=fixed, amends_id=first.pk)
    _, token = s.act(2, attachments.upload_link_create, "dr.patel", referral_id=grace.pk)
    clip = demo_media.spasm_video()
    if clip is not None:  # without PyAV the demo goes without a video
        sent = {"original_name": "grace-left-eye.webm", "title": "Left eye and cheek, after school"}
        s.step(1, attachments.family_upload, token=token, file=io.BytesIO(clip), **sent)
    watched = (
        "Watched the family's video: clonic spasm of the left eye spreading to the cheek, the brow lifting "
        "as the eye closes. @dr.khan thank you, this is what we needed: Grace needs the MRI of the facial nerve."
    )
    s.act(s.ago(hours=20), notes.note_add, "dr.patel", referral_id=grace.pk, text=watched)
    _, token = s.act(3, attachments.upload_link_create, "dr.osei", referral_id=ava.pk)  # expires in 4 days
    s.family_link = settings.CAREPATH_BASE_URL + reverse("family_upload", args=[token])  # shown once, as to Dr Osei


# --- MDT meetings -----------------------------------------------------------------------------------
def past_meeting(s, site, *, zara, isla) -> None:
    """Nine days ago: Zara's toxin (its step still open for neurology) and Isla's surgery, signed."""
    team = [s.users[u].pk for u in TEAM]
    starts = s.weekday(-9) + timedelta(hours=1)
    past = s.act(14, mdt.meeting_create, "dr.patel", starts_at=starts, site_id=site.pk, attendee_ids=team)
    question = "Left neurovascular compression, moderate spasm: botulinum toxin first, or MVD?"
    on_list = s.act(12, mdt.meeting_add_case, "dr.patel", meeting_id=past.pk, referral_id=zara.pk, question=question)
    question = "Toxin helps only briefly; AICA loop on the root exit zone. Offer microvascular decompression?"
    isla_entry = s.act(12, mdt.meeting_add_case, "dr.li", meeting_id=past.pk, referral_id=isla.pk, question=question)
    at_meeting = starts + timedelta(hours=1)
    why = "Young, moderate spasm; try toxin and review at the re-dose visit."
    s.act(at_meeting, mdt.decision_sign, "dr.patel", mdt_case_id=on_list.pk, outcome="botulinum_toxin", rationale=why)
    why = "Clear compression matching the side; toxin failed; family wish surgery."
    s.act(at_meeting, mdt.decision_sign, "dr.novak", mdt_case_id=isla_entry.pk, outcome="mvd_surgery", rationale=why)


def next_week(s, weekday: int, hour: int) -> datetime:
    """`hour` o'clock on that weekday (0 Monday) of the coming week."""
    today = timezone.localdate(s.now)
    day = today + timedelta(days=7 - today.weekday() + weekday)
    return timezone.make_aware(datetime.combine(day, time(hour)))


def reopen_and_next_meeting(s, site, *, ruby, ella) -> None:
    """Ruby's spasm came back sooner and spread: reopened; next week's MDT lists her and Ella."""
    why = "Spasm back ten weeks after the injection and now pulling the mouth; her GP asks us to see her again."
    s.step(1, perform, name="reopen", obj_id=ruby.pk, actor=s.users["dr.patel"], data={"reason": why})
    team = [s.users[u].pk for u in TEAM]
    starts = next_week(s, 2, 13)  # Wednesday lunchtime
    upcoming = s.act(1, mdt.meeting_create, "dr.li", starts_at=starts, site_id=site.pk, attendee_ids=team)
    question = "Normal MRI, twitching persists and bothers her at school: watchful waiting or toxin?"
    s.act(1, mdt.meeting_add_case, "dr.li", meeting_id=upcoming.pk, referral_id=ella.pk, question=question)
    question = "Toxin lasts ten weeks and the spasm now reaches the mouth; MRI was normal. Repeat MRI, or MVD opinion?"
    s.act(
        s.ago(hours=3), mdt.meeting_add_case, "dr.patel", meeting_id=upcoming.pk, referral_id=ruby.pk, question=question
    )


# --- follow-up after treatment ------------------------------------------------------------------------
def treatments(s, site, *, isla, ruby, amber) -> None:
    """Isla's MVD (visits at 1 week, 3, 6, 12 months); Ruby's toxin 80 days ago (review due in 4 days);
    Amber's toxin 120 days ago, whose review she missed: a neurologist review opened."""
    surgery = {"referral_id": isla.pk, "kind": "mvd", "site_id": site.pk, "note": "AICA loop decompressed."}
    s.act(3, followup.treatment_record, "dr.novak", **surgery, treated_on=s.ago(days=4).date())
    toxin = {"kind": "botulinum_toxin", "site_id": site.pk, "note": "Left orbicularis oculi, 2.5 units x 3"}
    s.act(80, followup.treatment_record, "dr.patel", referral_id=ruby.pk, treated_on=s.ago(days=80).date(), **toxin)
    s.act(120, followup.treatment_record, "dr.patel", referral_id=amber.pk, treated_on=s.ago(days=120).date(), **toxin)
    missed = FollowUpVisit.objects.get(treatment__referral=amber)
    note = "Not brought; two calls to the family unanswered."
    s.act(30, followup.visit_record, "dr.patel", visit_id=missed.pk, attended=False, note=note)


# --- reassign, delegate, snooze ---------------------------------------------------------------------
def handing_on(s, *, ethan, ella) -> None:
    """Ethan's review given to Dr Li; her note asking Dr Patel; her week away delegated to him; Ella's
    results review snoozed until after next week's MDT."""
    review = _open_step(ethan, WorkItemKind.WAS_NOT_BROUGHT_REVIEW)
    why = "Dr Li knows the family from the tic clinic: please phone them and rebook."
    s.act(8, workitems_handover.work_item_reassign, "dr.patel", work_item_id=review.pk, to="dr.li", reason=why)
    text = (
        "Spoke to Ethan's mother: the clinic letter went to their old address. I am on leave this week; "
        "@dr.patel could you offer him a place at Thursday's clinic?"
    )
    s.act(2, notes.note_add, "dr.li", referral_id=ethan.pk, text=text)
    today = timezone.localdate(s.now)
    friday = today + timedelta(days=(4 - today.weekday()) % 7)
    away = {"to": "dr.patel", "starts_on": today, "ends_on": friday, "reason": "Annual leave"}
    s.act(2, delegation.delegation_create, "dr.li", **away)
    after = next_week(s, 3, 9)  # the morning after the MDT
    results = _open_step(ella, WorkItemKind.RESULTS_REVIEW)
    reason = "On next week's MDT list: I will see the family after the meeting."
    s.act(1, workitems_handover.work_item_snooze, "dr.patel", work_item_id=results.pk, until=after, reason=reason)


def _open_step(referral, kind: str) -> WorkItem:
    return WorkItem.objects.get(referral=referral, kind=kind, status=WorkItemStatus.OPEN)
