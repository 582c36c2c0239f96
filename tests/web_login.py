"""Signing in to the web app's login form as a browser would, for the API-level web tests."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from api.deps import SESSION_COOKIE


def nonce_in(page: str) -> str:
    """The login-CSRF value in a login form's HTML."""
    found = re.search(r'name="nonce" value="([^"]+)"', page)
    assert found, "the login form carries a login-CSRF value"
    return found.group(1)


def form_nonce(client: TestClient) -> str:
    """Open the login form: its hidden value matches the cookie it sets."""
    return nonce_in(client.get("/login").text)


def log_in(client: TestClient, token: str) -> str:
    """Sign in with a pasted API token; returns the web session's own credential from the cookie."""
    r = client.post("/login", data={"token": token, "nonce": form_nonce(client)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    session = client.cookies.get(SESSION_COOKIE)
    assert session and session != token, "the cookie carries a web session of its own, not the pasted token"
    return session
