"""What a message can be refused with, and the ACK code and HL7 error code (table 0357) each gives."""


class MessageRefused(Exception):
    ack_code = "AE"
    code = "207"  # application internal error: CarePath's rules refused it

    def __init__(self, text: str, *, code: str = ""):
        super().__init__(text)
        self.text = text
        self.code = code or self.code


class Rejected(MessageRefused):
    """Unreadable, unsupported, or missing what is required: AR."""

    ack_code = "AR"
    code = "200"


class Unknown(MessageRefused):
    """Readable but about an order CarePath does not know: AE, 204 unknown key identifier."""

    code = "204"
