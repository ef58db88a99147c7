"""The values that pass between the ledger, the engine and whoever drives a delivery."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    """One ledger row to deliver: who, and which rendered message (``variant``) they get."""

    id: int
    email: str
    name: str
    variant: str  # "nl", "en" or "nl+en"


#: Builds the complete RFC 5322 message for one target, CRLF line ends (see ``compose.py``).
Compose = Callable[[Target], bytes]


def cannot_compose(exc: Exception) -> str:
    """Why one recipient's message could not be made, for the ledger, the outbox and logs."""
    return f"cannot compose the message: {str(exc) or type(exc).__name__}"


@dataclass(frozen=True)
class Progress:
    """A snapshot for a progress bar: campaign-wide counts, ``rate`` of this run in msgs/s."""

    total: int
    sent: int
    failed: int
    unknown: int
    remaining: int
    rate: float


@dataclass(frozen=True)
class DeliveryReport:
    """What one :func:`~postduif.send.deliver` run did.

    ``sent``, ``failed``, ``bounced`` (a subset of ``failed``), ``unknown`` and ``skipped`` count
    this run's rows; ``remaining`` is what the ledger still holds queued for a later run.
    """

    campaign: str
    sent: int
    failed: int
    bounced: int
    unknown: int
    skipped: int
    remaining: int
    paused: str | None  # the 5.7.x reply that paused the campaign
    interrupted: bool  # stopped by the stop event (Ctrl-C)
