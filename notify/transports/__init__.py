"""Push transports: the interface the messaging pipeline sends through, and FCM and APNs."""

from notify.transports.base import (
    PermanentFailure,
    PushRequest,
    PushResult,
    RecordingTransport,
    Router,
    Sent,
    TokenInvalid,
    TransientFailure,
    Transport,
)
from notify.transports.retry import RetryPolicy, RetryStats

__all__ = [
    "PermanentFailure",
    "PushRequest",
    "PushResult",
    "RecordingTransport",
    "RetryPolicy",
    "RetryStats",
    "Router",
    "Sent",
    "TokenInvalid",
    "TransientFailure",
    "Transport",
]
