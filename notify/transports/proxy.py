"""Reaching the push providers through an outbound HTTP proxy (`VILA_PUSH_PROXY`).

Hospital networks let HTTPS out only through a proxy. Both transports open their connections the
same way: a TCP connection to the proxy, `CONNECT host:port HTTP/1.1` (with Basic
`Proxy-Authorization` when the proxy URL carries credentials), a 2xx answer, and then TLS to the
provider over that tunnel, end to end: the proxy sees the host name and nothing else. Vila does
not resolve the provider's name itself then; the proxy does.

`ProxyError` is a `ConnectionError`, so each transport's existing handling of a connection that
could not be opened (a transient failure, retried, never lost) covers a proxy that refuses or is
down. Its message names the proxy (without the password) and the proxy's status line.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import socket
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit

_MAX_ANSWER_BYTES = 16 * 1024


class ProxyError(ConnectionError):
    """The proxy could not be reached, or it did not open the tunnel."""

    def __init__(self, message: str, *, proxy: str, target: str, status: int | None = None) -> None:
        super().__init__(message)
        self.proxy = proxy
        self.target = target
        self.status = status


@dataclass(frozen=True, slots=True)
class Proxy:
    """Where the proxy is, how to authenticate, and which hosts bypass it."""

    host: str
    port: int
    username: str = field(default="", repr=False)
    password: str = field(default="", repr=False)
    no_proxy: tuple[str, ...] = ()

    @classmethod
    def parse(cls, url: str, no_proxy: str = "") -> Proxy | None:
        """`http://[user:password@]host:port` and a comma-separated bypass list; None when `url`
        is empty. Raises ValueError for anything else, so a typo stops the start, not a push."""
        url = url.strip()
        if not url:
            return None
        parts = urlsplit(url)
        if parts.scheme != "http":
            # TLS to the proxy itself (https://) would wrap TLS in TLS; proxies for this are rare.
            raise ValueError("the push proxy must be an http:// URL (the tunnel inside it is TLS)")
        try:
            port = parts.port
        except ValueError as exc:
            raise ValueError(f"bad push proxy port: {exc}") from None
        if not parts.hostname or port is None:
            raise ValueError("the push proxy needs a host and a port, e.g. http://proxy.region.se:3128")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError("the push proxy URL takes no path or query")
        bypass = tuple(entry.strip().lower().lstrip(".") for entry in no_proxy.split(",") if entry.strip())
        return cls(
            host=parts.hostname,
            port=port,
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            no_proxy=bypass,
        )

    @property
    def display(self) -> str:
        """The proxy for logs and errors: never the password."""
        user = f"{self.username}@" if self.username else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{user}{host}:{self.port}"

    @property
    def url(self) -> str:
        """The full URL, credentials included, for clients that take one (requests)."""
        auth = f"{quote(self.username, safe='')}:{quote(self.password, safe='')}@" if self.username else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{auth}{host}:{self.port}"

    def applies_to(self, host: str) -> bool:
        """False when `host` is in the bypass list: the exact name, a subdomain of an entry, an
        address inside an entry's network (`10.0.0.0/8`), or any host for `*`."""
        host = host.lower().strip("[]")
        try:
            address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
        except ValueError:
            address = None
        for entry in self.no_proxy:
            if entry == "*" or host == entry or host.endswith("." + entry):
                return False
            if address is not None:
                try:
                    if address in ipaddress.ip_network(entry, strict=False):
                        return False
                except ValueError:
                    continue
        return True

    def connect_request(self, host: str, port: int) -> bytes:
        target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        lines = [f"CONNECT {target} HTTP/1.1", f"Host: {target}"]
        if self.username:
            credentials = base64.b64encode(f"{self.username}:{self.password}".encode()).decode("ascii")
            lines.append(f"Proxy-Authorization: Basic {credentials}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def open_tunnel(proxy: Proxy, host: str, port: int) -> socket.socket:
    """A connected, non-blocking socket whose bytes reach `host:port` through the proxy.

    The caller starts TLS on it (`loop.create_connection(..., sock=..., ssl=...)`) and owns it.
    Bounded by the caller's timeout; on any failure the socket is closed.
    """
    loop = asyncio.get_running_loop()
    target = f"{host}:{port}"
    try:
        infos = await loop.getaddrinfo(proxy.host, proxy.port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ProxyError(f"cannot resolve proxy {proxy.display}: {exc}", proxy=proxy.display, target=target) from exc
    errors: list[str] = []
    for family, kind, protocol, _, address in infos:
        sock = socket.socket(family, kind, protocol)
        try:
            sock.setblocking(False)
            try:
                await loop.sock_connect(sock, address)
            except OSError as exc:
                errors.append(str(exc))
                sock.close()
                continue
            await _handshake(loop, sock, proxy, host, port)
        except BaseException:
            sock.close()
            raise
        return sock
    raise ProxyError(
        f"cannot reach proxy {proxy.display}: {'; '.join(errors) or 'no address'}",
        proxy=proxy.display,
        target=target,
    )


async def _handshake(loop: asyncio.AbstractEventLoop, sock: socket.socket, proxy: Proxy, host: str, port: int) -> None:
    target = f"{host}:{port}"
    await loop.sock_sendall(sock, proxy.connect_request(host, port))
    answer = bytearray()
    # Nothing follows a 2xx before our TLS ClientHello (the provider waits for it), so reading
    # until the end of the head cannot swallow tunnelled bytes.
    while b"\r\n\r\n" not in answer:
        chunk = await loop.sock_recv(sock, 4096)
        if not chunk:
            raise ProxyError(
                f"proxy {proxy.display} closed the connection during CONNECT {target}",
                proxy=proxy.display,
                target=target,
            )
        answer += chunk
        if len(answer) > _MAX_ANSWER_BYTES:
            raise ProxyError(
                f"proxy {proxy.display} sent an oversized answer to CONNECT {target}",
                proxy=proxy.display,
                target=target,
            )
    head, _, rest = bytes(answer).partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1", "replace").strip()
    parts = status_line.split(" ", 2)
    try:
        status = int(parts[1]) if len(parts) > 1 and parts[0].startswith("HTTP/1.") else None
    except ValueError:
        status = None
    if status is None:
        raise ProxyError(
            f"proxy {proxy.display} answered CONNECT {target} with {status_line[:80]!r}",
            proxy=proxy.display,
            target=target,
        )
    if not 200 <= status < 300:
        hint = " (check the credentials in VILA_PUSH_PROXY)" if status == 407 else ""
        raise ProxyError(
            f"proxy {proxy.display} refused CONNECT {target}: {' '.join(parts[1:])[:80]}{hint}",
            proxy=proxy.display,
            target=target,
            status=status,
        )
    if rest:
        raise ProxyError(
            f"proxy {proxy.display} sent data after accepting CONNECT {target}",
            proxy=proxy.display,
            target=target,
            status=status,
        )
