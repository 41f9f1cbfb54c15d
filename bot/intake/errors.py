"""Errors the intake package reports to people in one line (never a traceback)."""

from typing import Iterable, List


class IntakeError(Exception):
    """Base class: a problem to report to the user as one clear message."""


class ConfigError(IntakeError):
    """A setting or the intake config file is invalid."""


class StoreError(IntakeError):
    """The database cannot be opened or migrated."""


class NotFound(IntakeError):
    """A complaint, delivery or callback request does not exist."""


class Conflict(IntakeError):
    """An operation contradicts what is stored (e.g. a uuid reused for a different complaint)."""


class VerificationFailed(IntakeError):
    """The caller could not prove they filed the case: ``reason`` is "missing" (no last four phone
    digits given) or "mismatch" (the digits are wrong), so the dialogue can ask or refuse."""

    MISSING = "missing"
    MISMATCH = "mismatch"

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


class ValidationFailed(IntakeError):
    """Input is invalid; ``problems`` names each field ("phone: must be ...")."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems: List[str] = list(problems)
        super().__init__("; ".join(self.problems))

    def prefixed(self, prefix: str) -> "ValidationFailed":
        return ValidationFailed(f"{prefix}{problem}" for problem in self.problems)
