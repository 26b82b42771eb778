"""The qdisc API (net/sched/sch_api.c): create a root qdisc and graft it onto a device, change
it, or delete it and fall back on the device's default (``dev_activate``).

tuxnet's qdiscs are first-in first-out queues of ``limit`` packets: ``pfifo`` (sch_fifo.c) and
``pfifo_fast``, the default (sch_generic.c; its three priority bands are one here, as every
packet of tuxnet's stack has priority 0 and so lands in band 1 on Linux too); ``tbf``, the
token bucket shaper (sch_tbf.py); ``netem``, the network emulator (sch_netem.py); and, on a TUN
device, ``fq`` (sch_fq.c), which the driver
emulates: flows leave at their departure times.
A device without a queue (``lo``) has ``noqueue``, which cannot be deleted or changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from tuxnet.net.core.dev import NetDevice, Qdisc
from tuxnet.net.sched.sch_netem import NetemParams, NetemQdisc
from tuxnet.net.sched.sch_tbf import TbfQdisc

# The kinds a root qdisc may be (fq only where the driver takes it: ndo_setup_tc).
QDISC_KINDS = ("pfifo", "pfifo_fast", "tbf", "netem", "fq")


@dataclass
class TbfParams:
    """``struct tc_tbf_qopt`` as tuxnet keeps it: the limit in bytes, rates in bytes/s, the
    buckets (``buffer``, and ``mtu`` for the peak rate) in nanoseconds of transmission."""

    limit: int
    rate: int
    buffer: int
    peakrate: int = 0
    mtu: int = 0


class QdiscError(ValueError):
    """The kernel refused the change; the message is its extack (``Error: ...``)."""


def qdisc_alloc_handle(dev: NetDevice) -> int:
    """``qdisc_alloc_handle``: the next automatic major handle, 8001: onwards."""
    host = dev.nd_net
    last = host.qdisc_autohandle
    host.qdisc_autohandle = last + 1 if 0x8001 <= last < 0xFFFF else 0x8001
    return host.qdisc_autohandle


def dev_default_qdisc(dev: NetDevice) -> Qdisc | None:
    """``attach_one_default_qdisc``: a pfifo_fast of ``tx_queue_len`` packets, with handle 0
    (tuxnet has no other kind to take from ``net.core.default_qdisc``); none (noqueue) for a
    device that needs no queue."""
    return None if dev.no_queue else Qdisc(dev, dev.tx_queue_len)


def qdisc_graft(dev: NetDevice, new: Qdisc | None) -> None:
    """``qdisc_graft``: ``new`` becomes the root; what the old one held is dropped with it, and
    the driver learns of the change (``ndo_setup_tc``)."""
    if dev.qdisc is not None:
        dev.qdisc.destroy()
    dev.qdisc = new
    setup_tc = dev.netdev_ops.ndo_setup_tc
    if setup_tc is not None:
        setup_tc(dev, new.kind if new is not None else "noqueue")


def tc_modify_qdisc(dev: NetDevice, verb: str, kind: str, limit: int | None, tbf: TbfParams | None = None,
                    netem: NetemParams | None = None) -> None:
    """``tc_modify_qdisc`` for the root: a qdisc of another kind (or the default one) is created
    and grafted; one of the same kind is changed in place (tbf: ``tbf_change``, a full bucket
    again; netem: ``netem_change``, the packets it holds kept), unless the request is ``add``
    (NLM_F_EXCL), which refuses."""
    if kind not in QDISC_KINDS or kind == "fq" and dev.netdev_ops.ndo_setup_tc is None:
        raise QdiscError("Error: Specified qdisc kind is unknown.")
    old = dev.qdisc
    same = old is not None and old.handle and old.kind == kind
    if verb == "add" and same:
        raise QdiscError("Error: Exclusivity flag on, cannot modify.")
    if same:
        assert old is not None
        if isinstance(old, TbfQdisc):
            assert tbf is not None
            old.change(tbf.limit, tbf.rate, tbf.buffer, tbf.peakrate, tbf.mtu)
        elif isinstance(old, NetemQdisc):
            assert netem is not None
            old.change(netem)
        else:
            old.limit = dev.tx_queue_len if limit is None else limit
        return
    if tbf is not None:
        new: Qdisc = TbfQdisc(dev, tbf.limit, tbf.rate, tbf.buffer, tbf.peakrate, tbf.mtu)
    elif netem is not None:
        new = NetemQdisc(dev, netem)
    else:
        new = Qdisc(dev, dev.tx_queue_len if limit is None else limit, kind)
    new.handle = qdisc_alloc_handle(dev)
    qdisc_graft(dev, new)


def tc_delete_qdisc(dev: NetDevice) -> None:
    """``tc_get_qdisc`` for RTM_DELQDISC on the root: the default comes back."""
    if dev.qdisc is None or not dev.qdisc.handle:
        raise QdiscError("Error: Cannot delete qdisc with handle of zero.")
    qdisc_graft(dev, dev_default_qdisc(dev))
