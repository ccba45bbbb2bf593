"""The few domain exceptions (docs/architecture.md). The API maps them to problem+json, the UI to form errors."""


class DomainError(Exception):
    status = 400
    title = "Request refused"

    def __init__(self, detail: str, *, errors: dict | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or {}


class InvalidData(DomainError):
    """The data given for an action is missing or wrong; `errors` maps field → messages."""

    status = 400
    title = "Invalid data"

    def __init__(self, errors: dict | str, detail: str = ""):
        if isinstance(errors, str):
            errors = {"non_field_errors": [errors]}
        errors = {k: v if isinstance(v, list) else [v] for k, v in errors.items()}
        if not detail:
            detail = " ".join(str(m) for msgs in errors.values() for m in msgs)
        super().__init__(detail, errors=errors)


class Unprocessable(InvalidData):
    """Well-formed data that a rule refuses outright (the API answers 422), such as naming a
    referrer the caller may not name; the web shows it beside the field like any invalid data."""

    status = 422
    title = "Unprocessable request"


class RuleBroken(Unprocessable):
    """Well-formed data that a clinical rule refuses (a scan dated before its request, a red-flag
    referral below asap without a reason): 422, `errors` naming the field. A kind of
    InvalidData, so every form shows it beside its field like any other field error."""

    status = 422
    title = "Refused by a clinical rule"


class Forbidden(DomainError):
    status = 403
    title = "Not allowed for your role"


class TransitionNotAllowed(DomainError):
    status = 409
    title = "Not allowed in the case's current state"


class StaleVersion(DomainError):
    status = 409
    title = "The case has changed since you loaded it"


class StepTaken(TransitionNotAllowed):
    """Someone else has taken (claimed) the step this action would do: the actor must say they take
    it over (`take_over`) rather than act silently in their colleague's place (carepath/pathway/ownership.py)."""

    title = "Someone else has taken this step"

    def __init__(self, *, holder_name: str, step: str):
        self.holder_name, self.step = holder_name, step
        super().__init__(
            f"{holder_name} has taken this step ({step}). Take it over from them to continue, or leave it to them."
        )

    @property
    def extra(self) -> dict:
        """Added to the API's problem+json: who holds it, and how to take it over."""
        return {"taken_by": self.holder_name, "step": self.step, "take_over": "Send take_over: true to take it over."}


class Blocked(DomainError):
    """The action is allowed in this state but waits on something else first (an unacknowledged
    critical result blocks concluding and closing the case): 409 with the reason."""

    status = 409
    title = "Something else must be done first"
