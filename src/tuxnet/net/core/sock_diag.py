"""Socket cookies (net/core/sock_diag.c): the 64-bit number that names a socket for the whole
life of the host, given the first time something asks (``ss -e``'s ``sk:``, SO_COOKIE) and kept
by the TIME_WAIT socket that replaces a connection (``inet_twsk_alloc`` copies ``sk_cookie``)."""

from __future__ import annotations

from typing import Any


def sock_gen_cookie(sk: Any) -> int:
    """``__sock_gen_cookie``: the socket's cookie, taking the host's next one (``gen_cookie_next``,
    from 1) when it has none yet."""
    cookie: int = sk.sk_cookie
    if not cookie:
        host = sk.host
        host.last_cookie += 1
        cookie = sk.sk_cookie = host.last_cookie
    return cookie
