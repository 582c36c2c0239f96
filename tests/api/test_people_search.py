"""Searching people by name finds Swedish letters (Å, Ä, Ö) in any case, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import unicodedata

import pytest
from fastapi.testclient import TestClient

from tests.factories import Factory


@pytest.mark.parametrize("q", ["Åberg", "åberg", "ÅBERG", unicodedata.normalize("NFD", "Åberg"), "ärl", "ÖSTL"])
def test_search_finds_swedish_letters(client: TestClient, make: Factory, q: str) -> None:
    admin = make.actor(roles=["staff", "admin"])
    make.person(name="Åsa Åberg")
    make.person(name="Ärlig Östlund")
    make.person(name="Anna Aberg")
    found = client.get("/api/v1/people", headers=admin.headers, params={"q": q}).json()
    names = {p["name"] for p in found["items"]}
    expected = {"Åsa Åberg"} if "berg" in q.lower() else {"Ärlig Östlund"}
    assert names == expected
