"""Errors a user can act on. Views and the API turn them into a Chinese message and a 4xx."""


class HotlineError(Exception):
    """Base: a refused request with a message fit to show a person."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class Invalid(HotlineError):
    status = 400


class Forbidden(HotlineError):
    status = 403


class NotFound(HotlineError):
    status = 404


class Conflict(HotlineError):
    status = 409


class Unprocessable(HotlineError):
    """A request whose form is right but whose content is not (a missing or bad field)."""

    status = 422
