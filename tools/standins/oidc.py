"""A local OpenID Connect provider that stands in for Entra ID in tests and for trying sign-in out.

It signs in one configured user without asking: discovery, a JWKS with an RSA key made at start,
an authorize endpoint that redirects straight back with a code, and a token endpoint that checks
the code (once only), the client secret, the redirect address and the PKCE verifier. Plain http on
127.0.0.1, so Vila needs VILA_OIDC_ALLOW_HTTP=true to talk to it.

    python -m tools.standins.oidc --port 9400 --email anna@exempel.se --role Vila.Manager

Tests reach into `user`, `token_claims` and `sign_with_foreign_key` to make it misbehave.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route


@dataclass
class _Grant:
    redirect_uri: str
    challenge: str
    nonce: str
    claims: dict[str, Any]


def _wall_clock() -> datetime:
    return datetime.now(UTC)


class OidcStandIn:
    def __init__(
        self,
        *,
        client_id: str = "vila",
        client_secret: str = "stand-in-secret",  # noqa: S107 - a local test provider's secret
        now: Callable[[], datetime] = _wall_clock,
        token_lifetime: timedelta = timedelta(hours=1),
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.now = now
        self.token_lifetime = token_lifetime
        self.issuer = ""  # known once it listens
        self.user: dict[str, Any] = {"sub": "stand-in-user", "name": "Test Person"}
        self.deny = False  # answer the next authorizations with error=access_denied
        self.token_claims: dict[str, Any] = {}  # merged into the ID token last: aud, nonce, exp, ...
        self.sign_with_foreign_key = False
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._foreign_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._kid = uuid.uuid4().hex[:12]
        self._grants: dict[str, _Grant] = {}
        self.app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self._discovery),
                Route("/jwks", self._jwks),
                Route("/authorize", self._authorize),
                Route("/token", self._token, methods=["POST"]),
            ]
        )

    async def _discovery(self, _request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_post"],
            }
        )

    async def _jwks(self, _request: Request) -> Response:
        jwk = json.loads(RSAAlgorithm.to_jwk(self._key.public_key()))
        jwk.update({"kid": self._kid, "use": "sig", "alg": "RS256"})
        return JSONResponse({"keys": [jwk]})

    async def _authorize(self, request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != self.client_id or q.get("response_type") != "code":
            return PlainTextResponse("unknown client or response type", status_code=400)
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return PlainTextResponse("PKCE with S256 is required", status_code=400)
        redirect_uri = q.get("redirect_uri", "")
        back: dict[str, str] = {"state": q.get("state", "")}
        if self.deny:
            back |= {"error": "access_denied", "error_description": "The user declined."}
        else:
            code = secrets.token_urlsafe(24)
            self._grants[code] = _Grant(redirect_uri, q["code_challenge"], q.get("nonce", ""), dict(self.user))
            back["code"] = code
        return RedirectResponse(f"{redirect_uri}?{urlencode(back)}", status_code=302)

    async def _token(self, request: Request) -> Response:
        form = await request.form()
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = self._grants.pop(str(form.get("code", "")), None)  # a code works once
        if form.get("grant_type") != "authorization_code" or grant is None:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        verifier = str(form.get("code_verifier", ""))
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if challenge != grant.challenge or form.get("redirect_uri") != grant.redirect_uri:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        id_token = self._sign({"nonce": grant.nonce, **grant.claims, **self.token_claims})
        return JSONResponse({"token_type": "Bearer", "id_token": id_token, "access_token": secrets.token_urlsafe(16)})

    def access_token(
        self, claims: dict[str, Any], *, audience: str | None = None, lifetime: timedelta | None = None
    ) -> str:
        """An access token for Vila's API, as the provider gives an app that signed its user in:
        `audience` defaults to the client id; `sign_with_foreign_key` applies here too."""
        return self._sign({"aud": audience or self.client_id, **claims}, lifetime=lifetime)

    def _sign(self, claims: dict[str, Any], *, lifetime: timedelta | None = None) -> str:
        """A token from this provider, valid from now: the given claims over iss, aud, iat, nbf, exp."""
        now = self.now()
        body = {
            "iss": self.issuer,
            "aud": self.client_id,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int((now + (lifetime or self.token_lifetime)).timestamp()),
            **claims,
        }
        key = self._foreign_key if self.sign_with_foreign_key else self._key
        return jwt.encode(body, key, algorithm="RS256", headers={"kid": self._kid})

    @contextmanager
    def serve(self, port: int = 0) -> Iterator[OidcStandIn]:
        """Listen on 127.0.0.1 (a free port unless one is given) in a background thread."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        self.issuer = f"http://127.0.0.1:{sock.getsockname()[1]}"
        server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", lifespan="off", ws="none"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the OIDC stand-in did not start")
            time.sleep(0.01)
        try:
            yield self
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=9400)
    parser.add_argument("--client-id", default="vila")
    parser.add_argument("--client-secret", default="stand-in-secret")
    parser.add_argument("--email", required=True, help="the person who signs in (their Vila email)")
    parser.add_argument("--oid", default="", help="an object id, matched against the person's external id")
    parser.add_argument("--role", action="append", default=[], help="an app role, e.g. Vila.Manager")
    args = parser.parse_args()
    stand_in = OidcStandIn(client_id=args.client_id, client_secret=args.client_secret)
    stand_in.user = {"sub": args.oid or uuid.uuid4().hex, "email": args.email, "roles": args.role}
    if args.oid:
        stand_in.user["oid"] = args.oid
    with stand_in.serve(args.port):
        print(f"VILA_OIDC_ISSUER={stand_in.issuer} VILA_OIDC_CLIENT_ID={args.client_id} ", end="")
        print(f"VILA_OIDC_CLIENT_SECRET={args.client_secret} VILA_OIDC_ALLOW_HTTP=true")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
