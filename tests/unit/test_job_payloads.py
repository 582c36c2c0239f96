"""Job payloads: each job is declared once, its row's JSON keeps the keys stored rows already
have, and a row that does not fit its job fails with a message that says what is wrong."""

from __future__ import annotations

import dataclasses
import inspect
import uuid

import pytest

from kernel import jobs
from kernel.outbox import JobPayload, MalformedJob, decode, encode
from notify.jobs import registry

DECLARED = [
    c for _, c in inspect.getmembers(jobs, inspect.isclass) if issubclass(c, JobPayload) and c is not JobPayload
]
M, P, Q = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def test_every_declared_job_has_a_handler_and_every_handler_a_declaration() -> None:
    assert sorted(c.job_name for c in DECLARED) == registry.names()
    for kind in DECLARED:
        spec = registry.get(kind.job_name)
        assert spec is not None and spec.payload is kind
        assert dataclasses.is_dataclass(kind) and kind.__dataclass_params__.frozen  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("payload", "stored"),
    [
        (jobs.FanOut(message_id=M, chunk=3), {"message_id": str(M), "chunk": 3}),
        (jobs.SendDeliveries(delivery_ids=(P, Q)), {"delivery_ids": [str(P), str(Q)]}),
        (jobs.ReleasePeople(person_ids=(P,)), {"person_ids": [str(P)]}),
        (jobs.SendEmails(email_ids=(Q,)), {"email_ids": [str(Q)]}),
        (jobs.Withdraw(message_id=M), {"message_id": str(M)}),
        (jobs.RedecideHolds(person_id=P), {"person_id": str(P)}),
        (jobs.Offboard(person_id=P), {"person_id": str(P)}),
        (jobs.RefreshCalendar(person_id=P), {"person_id": str(P)}),
        (jobs.PlanRelease(), {}),
    ],
)
def test_rows_keep_the_json_already_stored(payload: JobPayload, stored: dict[str, object]) -> None:
    assert encode(payload) == stored
    assert decode(type(payload), stored) == payload


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ({}, "has no 'message_id'"),
        ({"message_id": "not-a-uuid", "chunk": 0}, "payload key 'message_id'"),
        ({"message_id": str(M), "chunk": "3"}, "expected int"),
        ({"message_id": str(M), "chunk": True}, "expected int"),
        ({"message_id": str(M), "chunk": 0, "chunks": 1}, "unknown payload key(s) chunks"),
        (["message_id"], "not a JSON object"),
    ],
)
def test_a_row_that_does_not_fit_its_job_says_what_is_wrong(raw: object, words: str) -> None:
    with pytest.raises(MalformedJob, match=r"notify\.fan_out") as caught:
        decode(jobs.FanOut, raw)  # type: ignore[arg-type]
    assert words in str(caught.value)


def test_a_list_of_ids_must_be_a_list() -> None:
    with pytest.raises(MalformedJob, match="expected a list"):
        decode(jobs.SendDeliveries, {"delivery_ids": str(P)})


def test_a_payload_that_is_not_frozen_is_refused() -> None:
    @dataclasses.dataclass
    class Loose(JobPayload, job="test.loose", queue="bulk"):
        n: int

    with pytest.raises(TypeError, match="frozen"):
        encode(Loose(n=1))
