"""Domain errors. Each carries the contract's error code and the HTTP status it maps to; the
handlers turn them into answers in one place."""

from __future__ import annotations

from typing import Any


class LicensingError(Exception):
    code = "ERROR"
    status = 400

    def __init__(self, message: str, *, details: list[Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class InvalidInput(LicensingError):
    code = "INVALID_REQUEST"
    status = 400


class NotFound(LicensingError):
    code = "NOT_FOUND"
    status = 404


class Forbidden(LicensingError):
    code = "FORBIDDEN"
    status = 403


class Conflict(LicensingError):
    """A write lost a race or would break an invariant (e.g. an item already exists)."""

    code = "CONFLICT"
    status = 409


class TransitionRefused(LicensingError):
    """A lifecycle transition that the state machine does not allow."""

    code = "TRANSITION_REFUSED"
    status = 409


class UnknownProduct(LicensingError):
    """A sale names a product the catalogue does not know: Stripe must retry, staff must see it."""

    code = "UNKNOWN_PRODUCT"
    status = 500


class UnissuableSale(LicensingError):
    """A paid sale that cannot be issued automatically (e.g. too many licenses at once): Stripe
    keeps retrying and staff see the error in the logs, so that the sale is never dropped."""

    code = "SALE_NOT_ISSUABLE"
    status = 500


class TransientError(LicensingError):
    """Storage throttled or unavailable: the caller should retry."""

    code = "TEMPORARILY_UNAVAILABLE"
    status = 503
