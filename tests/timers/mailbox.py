"""An e-mail backend for the reliability tests: one file per message in $MAILBOX_DIR, written after
$MAILBOX_DELAY seconds (so a test can kill the worker mid-send; with $MAILBOX_SLOW set, only to
addresses containing it); addresses containing "poison" always fail."""

import os
import time
import uuid
from pathlib import Path

from django.core.mail.backends.base import BaseEmailBackend


class FileBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        box = Path(os.environ["MAILBOX_DIR"])
        for message in email_messages:
            if "poison" in message.to[0]:
                raise ConnectionRefusedError("the mail server refuses this address")
            name = message.extra_headers["Message-ID"].strip("<>").split("@")[0]
            (box / f"sending-{name}-{uuid.uuid4().hex}").touch()
            if os.environ.get("MAILBOX_SLOW", "") in message.to[0]:
                time.sleep(float(os.environ.get("MAILBOX_DELAY", "0")))
            (box / f"{name}-{uuid.uuid4().hex}.eml").write_text(message.message().as_string())
        return len(email_messages)


def sent(box: Path, dedupe_key: str) -> int:
    from carepath.notify.delivery import _message_id

    name = _message_id(dedupe_key).strip("<>").split("@")[0]
    return len(list(box.glob(f"{name}-*.eml")))


def sending(box: Path) -> int:
    return len(list(box.glob("sending-*")))
