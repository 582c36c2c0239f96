"""Sign-in with the region's identity provider (OIDC), against the local stand-in on a real port:
the whole browser round trip, roles from the provider, and every way a sign-in must be refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.deps import SESSION_COOKIE, csrf_token
from api.main import create_app
from kernel.audit.models import AuditRecord
from kernel.auth.models import ApiToken
from kernel.clock import ManualClock
from kernel.db import unit_of_work
from kernel.directory import service as directory
from kernel.directory.models import Person
from kernel.settings import Settings
from notify.outbox import NullWaker
from tests.factories import Factory
from tests.web_login import log_in
from tools.standins.oidc import OidcStandIn

ROLE_MAP = "Vila.Manager=manager,Vila.HR=hr,Vila.Admin=admin,Vila.Union=union"


@pytest.fixture
def provider(clock: ManualClock) -> Iterator[OidcStandIn]:
    stand_in = OidcStandIn(client_id="vila-test", client_secret="s3cret", now=clock.now)
    with stand_in.serve():
        yield stand_in


def _oidc_settings(settings: Settings, issuer: str) -> Settings:
    oidc = {
        "oidc_issuer": issuer,
        "oidc_client_id": "vila-test",
        "oidc_client_secret": "s3cret",
        "oidc_role_map": ROLE_MAP,
        "oidc_allow_http": True,
    }
    return Settings(**{**settings.model_dump(), **oidc})


@pytest.fixture
def web(settings: Settings, clock: ManualClock, provider: OidcStandIn) -> Iterator[TestClient]:
    app = create_app(_oidc_settings(settings, provider.issuer), clock=clock, waker=NullWaker())
    with TestClient(app) as c:
        yield c


def _to_provider(web: TestClient) -> str:
    """Press the button; return the provider's authorize address the browser is sent to."""
    start = web.get("/login/oidc", follow_redirects=False)
    assert start.status_code == 303, start.text
    return start.headers["location"]


def _from_provider(authorize_url: str) -> str:
    """The provider signs the configured user in and sends the browser back: the callback path."""
    answer = httpx.get(authorize_url, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["location"])
    assert back.path == "/login/oidc/callback"
    return f"{back.path}?{back.query}"


def _sign_in(web: TestClient) -> httpx.Response:
    return web.get(_from_provider(_to_provider(web)), follow_redirects=False)


def test_signing_in_lands_on_home_as_the_mapped_person_with_the_providers_roles(
    web: TestClient, provider: OidcStandIn, make: Factory, session_factory: sessionmaker[Session]
) -> None:
    lena = make.person(name="Lena Chef", external_id="oid-lena", roles=("staff",))
    provider.user = {"sub": "pairwise-1", "oid": "oid-lena", "name": "Lena", "roles": ["Vila.Manager", "Other"]}

    login = web.get("/login")
    assert "Logga in med organisationskonto" in login.text
    assert 'href="/login/oidc"' in login.text
    start = web.get("/login/oidc", follow_redirects=False)
    authorize = start.headers["location"]
    query = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(provider.issuer + "/authorize?")
    assert query["scope"] == ["openid profile email"] and query["code_challenge_method"] == ["S256"]
    assert query["state"] and query["nonce"] and query["code_challenge"]
    flow_cookie = start.headers["set-cookie"]
    assert "HttpOnly" in flow_cookie and "SameSite=lax" in flow_cookie and "Path=/login/oidc" in flow_cookie

    done = web.get(_from_provider(authorize), follow_redirects=False)
    assert done.status_code == 200, done.text
    # A page that moves on to "/", not a redirect: the Strict cookie must be sent there.
    assert '<meta http-equiv="refresh" content="0; url=/">' in done.text
    session_cookie = next(c for c in done.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
    assert "HttpOnly" in session_cookie and "SameSite=strict" in session_cookie
    assert "Hej Lena Chef" in web.get("/").text
    assert web.get("/compose").status_code == 200
    me = web.get("/api/v1/people/me").json()
    assert me["id"] == str(lena.id)

    with session_factory() as session:
        token = session.scalars(select(ApiToken).where(ApiToken.person_id == lena.id)).one()
        assert token.name == "web (oidc)" and token.roles == ["manager", "staff"]
        assert token.expires_at - token.created_at == timedelta(hours=12)
        logins = session.scalars(select(AuditRecord).where(AuditRecord.action == "auth.login")).all()
        assert [r.target_id for r in logins] == [str(lena.id)]
        assert web.cookies[SESSION_COOKIE] not in str(logins[0].after)
        person = session.get(Person, lena.id)
        assert person is not None and person.roles == ["manager", "staff"]


def test_a_role_taken_away_at_the_provider_is_gone_in_vila_and_unmapped_roles_stay(
    web: TestClient, provider: OidcStandIn, make: Factory, session_factory: sessionmaker[Session]
) -> None:
    boss = make.person(name="Per Före Detta", external_id="oid-per", roles=("staff", "manager", "admin"))
    provider.user = {"sub": "s", "oid": "oid-per", "roles": ["Vila.Admin"]}
    assert _sign_in(web).status_code == 200
    assert web.get("/compose").status_code == 200  # admin may compose
    provider.user = {"sub": "s", "oid": "oid-per", "roles": []}
    web.cookies.clear()
    assert _sign_in(web).status_code == 200
    assert web.get("/compose").status_code == 403
    with session_factory() as session:
        person = session.get(Person, boss.id)
        assert person is not None and person.roles == ["staff"]
        changes = session.scalars(select(AuditRecord).where(AuditRecord.action == "person.roles_from_provider")).all()
        assert ({"roles": ["admin", "staff"]}, {"roles": ["staff"]}) in [(c.before, c.after) for c in changes]


def test_the_email_links_a_person_without_an_external_id_but_never_takes_over_a_linked_one(
    web: TestClient, provider: OidcStandIn, make: Factory
) -> None:
    eva = make.person(name="Eva Epost")
    provider.user = {"sub": "x1", "oid": "unknown-oid", "preferred_username": eva.email.upper()}
    assert _sign_in(web).status_code == 200
    assert "Hej Eva Epost" in web.get("/").text

    web.cookies.clear()
    linked = make.person(name="Kopplad", external_id="someone-else")
    provider.user = {"sub": "x2", "oid": "new-oid", "email": linked.email}
    refused = _sign_in(web)
    assert refused.status_code == 403
    assert "inte kopplat till någon aktiv person" in refused.text
    assert SESSION_COOKIE not in web.cookies


def test_an_unknown_or_inactive_person_gets_a_403_page(
    web: TestClient, provider: OidcStandIn, make: Factory, session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    provider.user = {"sub": "nobody", "oid": "nobody", "email": "nobody@exempel.se"}
    unknown = _sign_in(web)
    assert unknown.status_code == 403
    assert "Kontakta din chef" in unknown.text
    web.cookies.set("vila_lang", "en")
    assert "not linked to an active person" in _sign_in(web).text

    gone = make.person(external_id="oid-gone")
    with unit_of_work(session_factory) as session:
        person = session.get(Person, gone.id)
        assert person is not None
        directory.deactivate_person(session=session, person=person, now=clock.now())
    provider.user = {"sub": "g", "oid": "oid-gone"}
    assert _sign_in(web).status_code == 403
    assert SESSION_COOKIE not in web.cookies


def test_a_wrong_state_and_a_replayed_code_are_refused(web: TestClient, provider: OidcStandIn, make: Factory) -> None:
    make.person(external_id="oid-a")
    provider.user = {"sub": "a", "oid": "oid-a"}
    callback = _from_provider(_to_provider(web))
    forged = callback.replace("state=", "state=x")
    wrong = web.get(forged, follow_redirects=False)
    assert wrong.status_code == 400
    assert "startades någon annanstans" in wrong.text
    # Without the flow cookie (another browser, or after it expired) the state is not ours either.
    web.cookies.clear()
    assert web.get(callback, follow_redirects=False).status_code == 400

    # A code used once does not work again, even inside a fresh flow with a matching state.
    callback = _from_provider(_to_provider(web))
    assert web.get(callback, follow_redirects=False).status_code == 200
    web.cookies.clear()
    code = parse_qs(urlsplit(callback).query)["code"][0]
    state = parse_qs(urlsplit(_to_provider(web)).query)["state"][0]
    replay = web.get("/login/oidc/callback", params={"code": code, "state": state}, follow_redirects=False)
    assert replay.status_code == 400
    assert "redan använts" in replay.text
    assert SESSION_COOKIE not in web.cookies


@pytest.mark.parametrize(
    "quirk",
    ["foreign_key", "wrong_audience", "wrong_nonce", "wrong_issuer", "expired"],
)
def test_an_id_token_that_is_not_valid_is_refused(
    web: TestClient, provider: OidcStandIn, make: Factory, clock: ManualClock, quirk: str
) -> None:
    make.person(external_id="oid-b")
    provider.user = {"sub": "b", "oid": "oid-b"}
    if quirk == "foreign_key":
        provider.sign_with_foreign_key = True
    elif quirk == "wrong_audience":
        provider.token_claims = {"aud": "some-other-app"}
    elif quirk == "wrong_nonce":
        provider.token_claims = {"nonce": "not-the-one-vila-sent"}
    elif quirk == "wrong_issuer":
        provider.token_claims = {"iss": "https://login.example/other-tenant/v2.0"}
    else:
        provider.token_claims = {"exp": int((clock.now() - timedelta(minutes=5)).timestamp())}
    refused = _sign_in(web)
    assert refused.status_code == 400
    assert "kunde inte godkännas" in refused.text
    assert SESSION_COOKIE not in web.cookies
    assert web.get("/me", follow_redirects=False).headers["location"] == "/login"


def test_the_provider_denying_the_sign_in_shows_why(web: TestClient, provider: OidcStandIn) -> None:
    provider.deny = True
    denied = _sign_in(web)
    assert denied.status_code == 403
    assert "avbröts eller nekades" in denied.text


def test_an_unreachable_provider_gives_a_502_page(settings: Settings, clock: ManualClock) -> None:
    app = create_app(_oidc_settings(settings, "http://127.0.0.1:9"), clock=clock, waker=NullWaker())
    with TestClient(app) as web:
        page = web.get("/login/oidc", follow_redirects=False)
    assert page.status_code == 502
    assert "svarar inte just nu" in page.text


def test_logout_ends_the_web_session_but_not_a_pasted_api_token(
    web: TestClient, provider: OidcStandIn, make: Factory
) -> None:
    make.person(external_id="oid-c")
    provider.user = {"sub": "c", "oid": "oid-c"}
    assert _sign_in(web).status_code == 200
    secret = web.cookies[SESSION_COOKIE]
    out = web.post("/logout", data={"csrf": csrf_token(secret)}, follow_redirects=False)
    assert out.status_code == 303
    web.cookies.clear()
    gone = web.get("/api/v1/people/me", headers={"Authorization": f"Bearer {secret}"})
    assert gone.status_code == 401

    nurse = make.actor()
    session = log_in(web, nurse.token)
    assert web.post("/logout", data={"csrf": csrf_token(session)}, follow_redirects=False).status_code == 303
    web.cookies.clear()
    assert web.get("/api/v1/people/me", headers={"Authorization": f"Bearer {session}"}).status_code == 401
    assert web.get("/api/v1/people/me", headers=nurse.headers).status_code == 200


def test_without_oidc_settings_there_is_no_button_and_no_route(client: TestClient) -> None:
    login = client.get("/login")
    assert 'href="/login/oidc"' not in login.text
    assert re.search(r'name="token"', login.text)
    assert client.get("/login/oidc", follow_redirects=False).status_code == 404
    assert client.get("/login/oidc/callback?code=x&state=y", follow_redirects=False).status_code == 404


def test_half_or_insecure_oidc_settings_stop_the_start(settings: Settings) -> None:
    with pytest.raises(ValidationError, match="VILA_OIDC_CLIENT_SECRET"):
        Settings(oidc_issuer="https://login.example/t/v2.0", oidc_client_id="vila")
    with pytest.raises(ValidationError, match="https"):
        Settings(oidc_issuer="http://login.example/t/v2.0", oidc_client_id="vila", oidc_client_secret="s")
    with pytest.raises(ValueError, match="unknown Vila role 'boss'"):
        create_app(
            Settings(**{**_oidc_settings(settings, "http://127.0.0.1:9").model_dump(), "oidc_role_map": "X=boss"})
        )


def test_the_app_calls_the_api_with_the_providers_access_token(
    web: TestClient, provider: OidcStandIn, make: Factory, clock: ManualClock
) -> None:
    """The phone app signs its user in through Entra and calls Vila with that access token: no Vila
    token to hand out per person. The token's app roles apply to the request."""
    lena = make.person(name="Lena Chef", external_id="oid-lena", roles=("staff",))
    token = provider.access_token({"sub": "pairwise-1", "oid": "oid-lena", "roles": ["Vila.Manager"]})
    me = web.get("/api/v1/people/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    assert me.json()["id"] == str(lena.id)
    # Listing people needs a manager, HR or admin: the token's Vila.Manager makes Lena one for now.
    assert web.get("/api/v1/people", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    plain = provider.access_token({"sub": "pairwise-1", "oid": "oid-lena", "roles": []})
    assert web.get("/api/v1/people", headers={"Authorization": f"Bearer {plain}"}).status_code == 403
    device = {"platform": "android", "provider": "fcm", "token": "fcm-token-of-lenas-phone"}
    assert web.post("/api/v1/devices", headers={"Authorization": f"Bearer {token}"}, json=device).status_code == 201
    with unit_of_work(web.app.state.session_factory) as session:  # type: ignore[attr-defined]
        stored = session.get(Person, lena.id)
        assert stored is not None and stored.roles == ["staff"], "a request changes no stored role"


def test_access_tokens_that_are_not_for_vila_or_not_valid_are_401(
    web: TestClient, provider: OidcStandIn, make: Factory, clock: ManualClock
) -> None:
    make.person(name="Lena Chef", external_id="oid-lena")
    gone = make.person(name="Gone", external_id="oid-gone")
    with unit_of_work(web.app.state.session_factory) as session:  # type: ignore[attr-defined]
        stored = session.get(Person, gone.id)
        assert stored is not None
        stored.active = False
    claims = {"sub": "pairwise-1", "oid": "oid-lena"}
    refused = {
        "another audience": provider.access_token(claims, audience="api://another-app"),
        "expired": provider.access_token(claims, lifetime=timedelta(minutes=-5)),
        "unknown person": provider.access_token({"sub": "x", "oid": "oid-nobody"}),
        "a person no longer active": provider.access_token({"sub": "y", "oid": "oid-gone"}),
        "not a JWT": "just-some-text",
    }
    provider.sign_with_foreign_key = True
    refused["signed with another key"] = provider.access_token(claims)
    provider.sign_with_foreign_key = False
    for what, token in refused.items():
        answer = web.get("/api/v1/people/me", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 401, f"{what}: {answer.status_code}"
    fine = provider.access_token(claims)
    assert web.get("/api/v1/people/me", headers={"Authorization": f"Bearer {fine}"}).status_code == 200
