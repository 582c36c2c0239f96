from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.main import create_app
from kernel.clock import ManualClock
from kernel.settings import Settings
from notify.outbox import NullWaker


@pytest.fixture
def app(settings: Settings, clock: ManualClock) -> FastAPI:
    # Jobs stay in the outbox; tests that care run them with notify.outbox.run_due.
    return create_app(settings, clock=clock, waker=NullWaker())


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c
