"""The forwarding database (net/bridge/br_fdb.c): learning, lookup and ageing.

``br_fdb_update`` learns (or moves) the source address of every frame a port receives;
``br_fdb_cleanup`` runs as delayed work and deletes entries not refreshed for ``ageing_time``
(300 s), rescheduling itself for the next expiry, at least 10 ms apart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuxnet.kernel.minmax import max, min
from tuxnet.net.ethernet.eth import format_mac

if TYPE_CHECKING:
    from tuxnet.net.bridge.br_if import NetBridge, NetBridgePort

NSEC_PER_SEC = 1_000_000_000
FDB_CLEANUP_MIN = 10_000_000  # br_fdb_cleanup: "Cleanup minimum 10 milliseconds apart"


class FdbEntry:
    """``struct net_bridge_fdb_entry``."""

    __slots__ = ("addr", "dst", "is_local", "is_static", "updated", "used")

    def __init__(self, addr: bytes, dst: NetBridgePort, now: int, is_local: bool = False,
                 is_static: bool = False) -> None:
        self.addr = addr
        self.dst = dst
        self.is_local = is_local
        self.is_static = is_static
        self.updated = now
        self.used = now

    def __repr__(self) -> str:
        return f"<FdbEntry {format_mac(self.addr)} port {self.dst.port_no}{' local' if self.is_local else ''}>"


def br_fdb_find(br: NetBridge, addr: bytes) -> FdbEntry | None:
    """``br_fdb_find_rcu``."""
    return br.fdb.get(addr)


def br_fdb_add_local(br: NetBridge, source: NetBridgePort, addr: bytes) -> FdbEntry:
    """``fdb_add_local``: a port's own address, permanent (never aged)."""
    f = FdbEntry(bytes(addr), source, br.host.world.now, is_local=True, is_static=True)
    br.fdb[f.addr] = f
    return f


def br_fdb_update(br: NetBridge, source: NetBridgePort, addr: bytes) -> None:
    """``br_fdb_update``: learn that ``addr`` is behind ``source``, or refresh and move the entry."""
    if br.ageing_time == 0:
        return  # "some users want to always flood"
    now = br.host.world.now
    f = br.fdb.get(addr)
    if f is None:
        f = FdbEntry(bytes(addr), source, now)
        br.fdb[f.addr] = f
        if not br.gc_work.pending():
            br.gc_work.mod(now + br.ageing_time)
        return
    if f.is_local:
        return  # a frame with our own address as its source: not learned
    f.updated = now
    if f.dst is not source and not f.is_static:
        f.dst = source


def br_fdb_cleanup(br: NetBridge) -> None:
    """``br_fdb_cleanup``: delete what has not been refreshed for ``ageing_time``; run again at the
    next expiry.  With no learnt entry left the work is not requeued until one is learnt (Linux's
    would run and find nothing), so an idle world's event queue drains."""
    delay = br.ageing_time
    work_delay = delay
    now = br.host.world.now
    dynamic = False
    for addr, f in list(br.fdb.items()):
        if f.is_static:
            continue
        this_timer = f.updated + delay
        if this_timer > now:
            work_delay = min(work_delay, this_timer - now)
            dynamic = True
        else:
            del br.fdb[addr]
    if dynamic:
        br.gc_work.mod(now + max(work_delay, FDB_CLEANUP_MIN))


def br_fdb_flush(br: NetBridge) -> None:
    """``bridge fdb flush``: forget every learned entry."""
    for addr, f in list(br.fdb.items()):
        if not f.is_static:
            del br.fdb[addr]


def br_fdb_show(br: NetBridge, stats: bool = False) -> str:
    """``bridge fdb show`` (``bridge -s fdb show`` adds the seconds since use/update)."""
    now = br.host.world.now
    lines = []
    for f in sorted(br.fdb.values(), key=lambda e: (e.dst.port_no, not e.is_local, e.addr)):
        parts = [format_mac(f.addr), "dev", f.dst.dev.name]
        if stats:
            parts.append(f"used {(now - f.used) // NSEC_PER_SEC}/{(now - f.updated) // NSEC_PER_SEC}")
        parts += ["master", br.name]
        if f.is_local:
            parts.append("permanent")
        lines.append(" ".join(parts))
    return "".join(line + "\n" for line in lines)


def br_showmacs(br: NetBridge) -> str:
    """``brctl showmacs``: port number, address, local or not, and the ageing timer (seconds since
    the entry was refreshed)."""
    now = br.host.world.now
    lines = ["port no\tmac addr\t\tis local?\tageing timer"]
    for f in sorted(br.fdb.values(), key=lambda e: (e.dst.port_no, e.addr)):
        age = 0.0 if f.is_local else (now - f.updated) / NSEC_PER_SEC
        lines.append(f"{f.dst.port_no:>3}\t{format_mac(f.addr)}\t{'yes' if f.is_local else 'no'}\t\t{age:>7.2f}")
    return "\n".join(lines) + "\n"
