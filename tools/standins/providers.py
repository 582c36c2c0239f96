"""Local stand-ins for FCM and APNs (and an outbound CONNECT proxy): for tests, the demo and the
embedded mode."""

from tools.standins.apns import ApnsEmulator
from tools.standins.faults import FaultPlan, Received
from tools.standins.fcm import FcmEmulator
from tools.standins.proxy import ConnectProxy, ConnectRecord
from tools.standins.server import Emulators, serve_emulators

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
