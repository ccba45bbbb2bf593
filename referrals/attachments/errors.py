"""The refusals of an upload, as domain errors (carepath/pathway/errors.py): the API maps each to
problem+json with its status (carepath/api/problems.py), the pages to a message beside the form."""

from carepath.pathway.errors import DomainError, TransitionNotAllowed, Unprocessable


class TooLarge(DomainError):
    status = 413
    title = "File too large"


class UnsupportedType(DomainError):
    status = 415
    title = "Unsupported file type"


class LinkGone(DomainError):
    """An upload link that expired or was used already."""

    status = 410
    title = "This upload link can no longer be used"


class LinkMadeMeanwhile(TransitionNotAllowed):
    """Another link was made for the case since the form was drawn (a double click, a colleague)."""

    title = "A link was made a moment ago"


class Refused(Unprocessable):
    """A file the virus scanner flagged (or could not scan): refused, never stored."""

    title = "Refused by the virus scanner"
