"""Fetching a person's linked calendar over HTTP, behind the small `CalendarFetcher` protocol
(`HttpCalendarFetcher` in production, a fake or a local server in tests), and checking its link.

A link must not become a way to probe internal services: private addresses are refused, by
address and by what the name resolves to.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Protocol
from urllib.parse import SplitResult, urlsplit

import httpx

from policies.core.ical import CalendarError

MAX_CALENDAR_BYTES = 5_000_000


class CalendarFetcher(Protocol):
    def fetch(self, url: str) -> bytes:
        """The calendar at the URL; raises CalendarError with a readable reason."""
        ...


class HttpCalendarFetcher:
    """Fetches over HTTPS (plain HTTP only when allowed, for a local test server), refusing
    addresses inside the installation's own network by name: a linked calendar must not become
    a way to probe internal services."""

    def __init__(self, *, allow_http: bool = False, timeout_s: float = 10.0) -> None:
        self.allow_http = allow_http
        self.timeout_s = timeout_s

    def fetch(self, url: str) -> bytes:
        clean = check_url(url, allow_http=self.allow_http)
        if not self.allow_http:
            _refuse_private(urlsplit(clean))
        try:
            with httpx.Client(timeout=self.timeout_s, follow_redirects=False) as client:
                with client.stream("GET", url, headers={"Accept": "text/calendar"}) as response:
                    if response.status_code != 200:
                        raise CalendarError(f"the calendar server answered HTTP {response.status_code}")
                    chunks: list[bytes] = []
                    size = 0
                    for chunk in response.iter_bytes():
                        size += len(chunk)
                        if size > MAX_CALENDAR_BYTES:
                            raise CalendarError("the calendar is larger than 5 MB")
                        chunks.append(chunk)
                    return b"".join(chunks)
        except httpx.HTTPError as exc:
            raise CalendarError(f"the calendar could not be fetched: {type(exc).__name__}") from exc


def _refuse_private(parts: SplitResult) -> None:
    """A name that resolves into a private network is refused like a private address."""
    try:
        infos = socket.getaddrinfo(parts.hostname or "", parts.port or 443, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise CalendarError(f"the calendar's host {parts.hostname} cannot be found") from exc
    for info in infos:
        if not ipaddress.ip_address(info[4][0]).is_global:
            raise CalendarError("the calendar link points into a private network")


def check_url(url: str, *, allow_http: bool) -> str:
    parts = urlsplit(url)
    if parts.scheme == "webcal":
        parts = parts._replace(scheme="https")
    if parts.scheme not in ({"https", "http"} if allow_http else {"https"}):
        raise CalendarError("the calendar link must start with https:// (or webcal://)")
    host = parts.hostname or ""
    if not host:
        raise CalendarError("the calendar link names no host")
    if not allow_http:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            address = None
        if host == "localhost" or (address is not None and not address.is_global):
            raise CalendarError("the calendar link points into a private network")
    return parts.geturl()
