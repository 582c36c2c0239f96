"""Local stand-ins for FCM and APNs (and an outbound CONNECT proxy): for tests, the demo and the
embedded mode."""

from notify.emulators.apns import ApnsEmulator
from notify.emulators.faults import FaultPlan, Received
from notify.emulators.fcm import FcmEmulator
from notify.emulators.proxy import ConnectProxy, ConnectRecord
from notify.emulators.server import Emulators, serve_emulators

__all__ = [
    "ApnsEmulator",
    "ConnectProxy",
    "ConnectRecord",
    "Emulators",
    "FaultPlan",
    "FcmEmulator",
    "Received",
    "serve_emulators",
]
