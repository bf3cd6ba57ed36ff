"""The listening sockets `serve` hands to uvicorn, bound here first for one clear error.

A busy port or an unknown host is one clear error (uvicorn logs five lines and exits 3 when its own bind fails)."""

from __future__ import annotations

import errno
import socket

from newsletter.errors import ServeError

_REASONS = {
    errno.EADDRINUSE: "address already in use",
    errno.EACCES: "permission denied (a port below 1024 needs privileges)",
    errno.EADDRNOTAVAIL: "no interface of this machine has that address",
}


def place(host: str, port: int) -> str:
    """'host:port', with an IPv6 address in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def bind(host: str, port: int) -> list[socket.socket]:
    """Listening sockets for every address `host` names (as asyncio's create_server binds them), or a
    ServeError naming host:port and the reason; nothing stays bound after a failure."""
    try:
        addresses = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ServeError(f"cannot listen on {place(host, port)}: unknown host ({exc.strerror})") from None
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(addresses):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            # As uvicorn does: a restart may bind over connections still in TIME_WAIT, never over a listener.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen()  # on Linux a second SO_REUSEADDR socket on a bound port fails only here
    except OSError as exc:
        for sock in sockets:
            sock.close()
        reason = _REASONS.get(exc.errno or 0, (exc.strerror or str(exc)).lower())
        raise ServeError(f"cannot listen on {place(host, port)}: {reason}") from None
    return sockets
