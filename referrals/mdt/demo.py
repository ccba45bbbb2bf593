"""seed_demo's MDT and follow-up story (referrals/management/commands/seed_demo.py), run after the
other stories and the demo site (`nvc_for_mdt` is one of the stories): a past meeting with signed
decisions, the follow-up schedules they led to, and a meeting coming up with a case on its list."""

from imaging.capacity.demo import SITE
from imaging.capacity.models import Site
from referrals import samples
from referrals.followup import services as followup
from referrals.models import Referral

from . import services as mdt


def seed_mdt_and_follow_up(s) -> None:
    site = Site.objects.get(name=SITE)
    team = [s.users[u].pk for u in ("dr.patel", "dr.li", "dr.novak", "dr.garcia")]
    starts = s.at_nine(-9)
    past = s.act(14, mdt.meeting_create, "dr.patel", starts_at=starts, site_id=site.pk, attendee_ids=team)
    at_meeting = (s.now - starts).total_seconds() / 86400 - 0.04  # an hour into the meeting
    zara = Referral.objects.get(patient__mrn="DEMO0018")  # `nvc_for_mdt`
    isla = Referral.objects.get(patient__mrn="DEMO0012")  # with neurosurgery for an MVD opinion
    question = "Left neurovascular compression, moderate spasm: botulinum toxin first, or MVD?"
    on_list = s.act(12, mdt.meeting_add_case, "dr.patel", meeting_id=past.pk, referral_id=zara.pk, question=question)
    question = "Toxin helps only briefly; AICA loop on the root exit zone. Offer microvascular decompression?"
    isla_entry = s.act(12, mdt.meeting_add_case, "dr.li", meeting_id=past.pk, referral_id=isla.pk, question=question)
    why = "Young, moderate spasm; try toxin and review at the re-dose visit."
    s.act(at_meeting, mdt.decision_sign, "dr.patel", mdt_case_id=on_list.pk, outcome="botulinum_toxin", rationale=why)
    why = "Clear compression matching the side; toxin failed; family wish surgery."
    s.act(at_meeting, mdt.decision_sign, "dr.novak", mdt_case_id=isla_entry.pk, outcome="mvd_surgery", rationale=why)
    toxin = {"referral_id": zara.pk, "kind": "botulinum_toxin", "site_id": site.pk}
    s.act(5, followup.treatment_record, "dr.patel", **toxin, treated_on=s.ago(days=5).date(), note="Orbicularis oculi")
    surgery = {"referral_id": isla.pk, "kind": "mvd", "site_id": site.pk, "note": "AICA loop decompressed."}
    s.act(3, followup.treatment_record, "dr.novak", **surgery, treated_on=s.ago(days=4).date())
    ella = Referral.objects.get(patient__mrn="DEMO0017")  # a normal MRI to review
    upcoming = s.act(1, mdt.meeting_create, "dr.li", starts_at=s.at_nine(5), site_id=site.pk, attendee_ids=team)
    question = "Normal MRI, twitching persists and bothers her at school: watchful waiting or toxin?"
    s.act(1, mdt.meeting_add_case, "dr.li", meeting_id=upcoming.pk, referral_id=ella.pk, question=question)


def nvc_for_mdt(s) -> None:
    """Zara, 12: left facial nerve compression on MRI, in results review before the MDT (one of the
    stories: it books its scan with a typed location, before the demo's scanners exist)."""
    r = s.child(18, "Zara", "Hughes", 80, years=12, muscles=("orbicularis_oculi", "buccinator"))
    mri = s.to_mri(r, triage=78, assess=60, request=60, protocol=59)
    s.scan(mri, booked=50, scanned=30)
    s.report(mri, 28, samples.FINDINGS_NVC, samples.IMPRESSION_NVC)
