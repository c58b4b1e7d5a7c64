"""Refusals of the registry services; the API answers each with its status and message."""

from __future__ import annotations


class RegistryError(Exception):
    status = 400
    code = "bad_parameter"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidField(RegistryError):
    """A value that cannot be stored; the message starts with the field's name."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class NotFound(RegistryError):
    status = 404
    code = "not_found"


class Conflict(RegistryError):
    """The change contradicts what is stored (a duplicate, an overlapping binding)."""

    status = 409
    code = "conflict"


class ConsentRequired(RegistryError):
    """The change needs a consent of the person that is not on record."""

    status = 403
    code = "consent_required"
