"""The demo's attachment (referrals/management/commands/seed_demo.py): Grace's family sends a video
through the link Dr Patel made, as a family would (the same services, a generated clip)."""

import io

from ..models import Referral
from . import services, video


def family_video(s):
    """Grace, 12: assessed; neurology asked the family for a video of the spasm and they sent one."""
    if video.av is None:  # no PyAV: the demo goes without (the pages say a video has no preview)
        return
    referral = Referral.objects.get(patient__given_name="Grace", patient__family_name="Hughes")
    _, token = s.act(2, services.upload_link_create, "dr.patel", referral_id=referral.pk)
    clip = io.BytesIO(video.sample("webm", seconds=3))
    s.step(
        1,
        services.family_upload,
        token=token,
        file=clip,
        original_name="grace-eye.webm",
        title="Left eye, after school",
    )
