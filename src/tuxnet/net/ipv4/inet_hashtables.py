"""Socket lookup tables (net/ipv4/inet_hashtables.c, inet_connection_sock.c port allocation).

``ehash``: established, request and TIME_WAIT sockets by their four-tuple (local first);
``lhash``: listeners by port; ``bhash``: bind buckets, every socket holding a local port.
Ephemeral ports follow RFC 6056 Algorithm 3 as ``__inet_hash_connect`` does (connect prefers the
low parity of the range, bind the other).
"""

from __future__ import annotations

import hashlib
import struct
from typing import TYPE_CHECKING, Any

from tuxnet.kernel.errno import EADDRINUSE, EADDRNOTAVAIL
from tuxnet.net.core.sock import SK_FORCE_REUSE

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host

TCP_LISTEN = 10
TCP_TIME_WAIT = 6
INET_TABLE_PERTURB_SIZE = 1 << 16
PAIR_HASHES_KEPT = 4096


def inet_sk_get_local_port_range(sk: Any) -> tuple[int, int, bool]:
    """``inet_sk_get_local_port_range``: (low, high, narrowed) of the ports the socket may be
    given: ``ip_local_port_range``, narrowed by each end of the socket's IP_LOCAL_PORT_RANGE that
    falls inside it."""
    low, high = sk.host.sysctl["net.ipv4.ip_local_port_range"]
    sk_range = sk.local_port_range
    if not sk_range:
        return low, high, False
    sk_low, sk_high = sk_range & 0xFFFF, sk_range >> 16
    if low <= sk_low <= high:
        low = sk_low
    if low <= sk_high <= high:
        high = sk_high
    return low, high, True


class BindBucket:
    """``struct inet_bind_bucket``: the owners of one local port.  ``connect_only``: made by
    ``connect()`` and bound by no one since (``fastreuse`` -1), the only kind of port other
    ``connect()``s may share, each with a four-tuple of its own."""

    __slots__ = ("port", "owners", "connect_only")

    def __init__(self, port: int, connect_only: bool) -> None:
        self.port = port
        self.owners: dict[Any, None] = {}  # insertion-ordered, O(1) removal (an hlist in Linux)
        self.connect_only = connect_only


class InetHashinfo:
    """``struct inet_hashinfo`` of one protocol in one namespace."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.ehash: dict[tuple[int, int, int, int], Any] = {}
        self.lhash: dict[int, list[Any]] = {}
        self.bhash: dict[int, BindBucket] = {}
        # The boot secret, keyed into the hash state once (net_secret_init)
        self.hasher = hashlib.blake2b(key=host.rng.getrandbits(128).to_bytes(16, "big"), digest_size=8)
        self.table_perturb = [0] * 256
        self._pair_hashes: dict[tuple[int, ...], int] = {}

    def keyed_hash(self, *parts: int) -> int:
        """A keyed hash of 32-bit words, addresses and ports (``siphash`` with the boot secret in
        Linux; BLAKE2b here)."""
        h = self.hasher.copy()
        h.update(struct.pack(f"!{len(parts)}I", *parts))
        return int.from_bytes(h.digest(), "big")

    def keyed_hash_of_pair(self, *parts: int) -> int:
        """``keyed_hash`` of an address pair (and at most a port), which every connection between
        two hosts repeats: computed once per distinct value and kept (up to PAIR_HASHES_KEPT)."""
        cache = self._pair_hashes
        value = cache.get(parts)
        if value is None:
            if len(cache) >= PAIR_HASHES_KEPT:
                cache.clear()
            value = cache[parts] = self.keyed_hash(*parts)
        return value

    # -- lookups ---------------------------------------------------------------------------------
    def lookup_established(self, laddr: int, lport: int, raddr: int, rport: int) -> Any:
        return self.ehash.get((laddr, lport, raddr, rport))

    def lookup_listener(self, laddr: int, lport: int, dif: int) -> Any:
        """``__inet_lookup_listener``: an exact local address beats the wildcard."""
        best = None
        best_score = -1
        for sk in self.lhash.get(lport, ()):
            score = 1
            if sk.inet_rcv_saddr:
                if sk.inet_rcv_saddr != laddr:
                    continue
                score += 4
            if sk.sk_bound_dev_if:
                if sk.sk_bound_dev_if != dif:
                    continue
                score += 4
            if score > best_score:
                best, best_score = sk, score
        return best

    def lookup(self, laddr: int, lport: int, raddr: int, rport: int, dif: int) -> Any:
        """``__inet_lookup``: established first, then a listener."""
        sk = self.ehash.get((laddr, lport, raddr, rport))
        if sk is not None:
            return sk
        return self.lookup_listener(laddr, lport, dif)

    # -- hashing ---------------------------------------------------------------------------------
    def ehash_insert(self, sk: Any) -> None:
        self.ehash[(sk.inet_rcv_saddr, sk.inet_num, sk.inet_daddr, sk.inet_dport)] = sk

    def ehash_replace(self, old: Any, new: Any) -> None:
        """``inet_ehash_insert`` with ``osk``: a request or full socket gives way to its successor."""
        key = (old.inet_rcv_saddr, old.inet_num, old.inet_daddr, old.inet_dport)
        if self.ehash.get(key) is old:
            del self.ehash[key]
        self.ehash_insert(new)

    def ehash_remove(self, sk: Any) -> None:
        key = (sk.inet_rcv_saddr, sk.inet_num, sk.inet_daddr, sk.inet_dport)
        if self.ehash.get(key) is sk:
            del self.ehash[key]

    def listen_hash(self, sk: Any) -> None:
        self.lhash.setdefault(sk.inet_num, []).append(sk)

    def listen_unhash(self, sk: Any) -> None:
        lst = self.lhash.get(sk.inet_num)
        if lst and sk in lst:
            lst.remove(sk)
            if not lst:
                del self.lhash[sk.inet_num]

    # -- ports -----------------------------------------------------------------------------------
    def bind_hash(self, sk: Any, port: int, by_connect: bool = False) -> None:
        """``inet_bind_hash``: ``sk`` now owns ``port``; a ``bind()`` without SO_REUSEADDR makes
        the port no longer one for ``connect()`` to share (``inet_csk_update_fastreuse``)."""
        tb = self.bhash.get(port)
        if tb is None:
            tb = self.bhash[port] = BindBucket(port, by_connect)
        elif not by_connect and not sk.sk_reuse:
            tb.connect_only = False
        tb.owners[sk] = None
        sk.inet_num = port

    def put_port(self, sk: Any) -> None:
        """``inet_put_port``: release the local port; the socket has none any more (``inet_num``
        0), so it may be bound again."""
        tb = self.bhash.get(sk.inet_num)
        if tb is not None and sk in tb.owners:
            del tb.owners[sk]
            if not tb.owners:
                del self.bhash[tb.port]
            sk.inet_num = 0

    def bind_conflict(self, sk: Any, tb: BindBucket, relax: bool = False) -> bool:
        """``inet_csk_bind_conflict``: another owner with an overlapping address and device.  A socket
        in TCP repair mode (SK_FORCE_REUSE) takes the port whoever holds it: ``inet_csk_get_port``
        goes straight to success."""
        if sk.sk_reuse == SK_FORCE_REUSE:
            return False
        for sk2 in tb.owners:
            if sk2 is sk:
                continue
            if sk.sk_bound_dev_if and sk2.sk_bound_dev_if and sk.sk_bound_dev_if != sk2.sk_bound_dev_if:
                continue
            if sk.sk_reuse and sk2.sk_reuse and sk2.sk_state != TCP_LISTEN:
                continue
            if sk.sk_reuseport and sk2.sk_reuseport:
                continue
            if relax and sk2.sk_state == TCP_TIME_WAIT:
                continue
            a, b = sk.inet_rcv_saddr, sk2.inet_rcv_saddr
            if not a or not b or a == b:
                return True
        return False

    def get_port(self, sk: Any, snum: int) -> int:
        """``inet_csk_get_port``: take ``snum``, or an odd-first free port for 0; 0 or -errno."""
        if snum:
            tb = self.bhash.get(snum)
            if tb is not None and self.bind_conflict(sk, tb):
                return -EADDRINUSE
            self.bind_hash(sk, snum)
            return 0
        low, high, _ = inet_sk_get_local_port_range(sk)
        remaining = high - low + 1
        offset = self.host.rng.randrange(remaining) | 1
        for parity_pass in range(2):
            for i in range(0, remaining, 2):
                port = low + (offset + i) % remaining
                tb = self.bhash.get(port)
                if tb is None or not self.bind_conflict(sk, tb):
                    self.bind_hash(sk, port)
                    return 0
            offset -= 1
            if parity_pass:
                break
        return -EADDRINUSE

    def hash_connect(self, sk: Any, check_established: Any) -> int:
        """``__inet_hash_connect``: bind an ephemeral port whose four-tuple is unique (RFC 6056
        Algorithm 3: a keyed hash of the addresses picks the start, a perturbation table moves on)."""
        if sk.inet_num:
            return 0 if check_established(sk, sk.inet_num) else -EADDRNOTAVAIL
        low, high, local_ports = inet_sk_get_local_port_range(sk)
        remaining = high - low + 1
        port_offset = self.keyed_hash_of_pair(sk.inet_rcv_saddr, sk.inet_daddr, sk.inet_dport)
        index = port_offset & (len(self.table_perturb) - 1)
        offset = (self.table_perturb[index] + (port_offset >> 32)) % remaining
        # one parity after the other, but every port in turn in a socket's own range
        step = 1 if local_ports else 2
        if not local_ports:
            offset &= ~1
        for parity in range(step):
            for i in range(0, remaining, step):
                port = low + (offset + i + parity) % remaining
                tb = self.bhash.get(port)
                # a port bound by bind() is not shared; one of connect()'s, if the four-tuple is new
                if tb is not None and not tb.connect_only:
                    continue
                if not check_established(sk, port):
                    continue
                self.bind_hash(sk, port, True)
                self.table_perturb[index] += i + 2
                return 0
        return -EADDRNOTAVAIL


def inet_unhash(sk: Any) -> None:
    """``inet_unhash``: out of the established or listening table; the port goes back unless
    the user bound it explicitly."""
    hashinfo = sk.host.tcp_hashinfo
    if sk.sk_state == TCP_LISTEN or sk in hashinfo.lhash.get(sk.inet_num, ()):
        hashinfo.listen_unhash(sk)
    hashinfo.ehash_remove(sk)
    if not getattr(sk, "bind_port_locked", False):
        hashinfo.put_port(sk)
