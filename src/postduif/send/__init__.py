"""Sending a campaign: the ledger, transports, retries, rate limit, workers and the dry run.

Data flows ledger -> worker -> compose -> transport -> ledger. Every row is committed as
``sending`` before its DATA and as ``sent``/``failed``/``unknown`` after the reply; a
connection claims ``[smtp] batch`` rows per commit, so a crash at any point leaves at most
``batch`` uncertain rows per connection, and a re-run resumes exactly.
"""

from postduif.send.engine import deliver
from postduif.send.ledger import Failure, LedgerStatus, VariantCounts, ledger_status, start_campaign
from postduif.send.memory import MemoryTransport
from postduif.send.model import Compose, DeliveryReport, Progress, Target
from postduif.send.outbox import OutboxReport, write_outbox
from postduif.send.ratelimit import RateLimit
from postduif.send.retry import RetryPolicy
from postduif.send.smtp import SmtpTransport
from postduif.send.transport import (
    Connection,
    DeliveryFailure,
    PermanentFailure,
    Reply,
    TemporaryFailure,
    Transport,
    Unknown,
)

__all__ = [
    "Compose", "Connection", "DeliveryFailure", "DeliveryReport", "Failure", "LedgerStatus",
    "MemoryTransport", "OutboxReport", "PermanentFailure", "Progress", "RateLimit", "Reply",
    "RetryPolicy", "SmtpTransport", "Target", "TemporaryFailure", "Transport", "Unknown",
    "VariantCounts", "deliver", "ledger_status", "start_campaign", "write_outbox",
]
