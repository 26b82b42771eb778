"""The device files of ``/proc/net`` (net/core/net-procfs.c): ``dev``, each device's counters,
and ``dev_mcast``, the multicast link addresses each device receives."""

from __future__ import annotations

from typing import Any

__all__ = ["dev_mc_seq_show", "dev_seq_show"]


def _devices(host: Any) -> list[Any]:
    """``dev_seq_start``/``dev_seq_next``: the namespace's devices by ifindex (the walk of its
    ``dev_by_index`` xarray)."""
    return sorted(host.devices.values(), key=lambda dev: dev.ifindex)


def dev_seq_printf_stats(dev: Any) -> str:
    """``dev_seq_printf_stats``: a device's line, the receive errors of the frame kind summed into
    ``frame``, those of the carrier kind into ``carrier``, missed frames counted as dropped (tuxnet
    keeps no compressed counts: 0, as for every Ethernet device)."""
    s = dev.stats
    frame = s.rx_length_errors + s.rx_over_errors + s.rx_crc_errors + s.rx_frame_errors
    carrier = s.tx_carrier_errors + s.tx_aborted_errors + s.tx_window_errors + s.tx_heartbeat_errors
    return (f"{dev.name:>6}:{s.rx_bytes:8d} {s.rx_packets:7d} {s.rx_errors:4d}"
            f" {s.rx_dropped + s.rx_missed_errors:4d} {s.rx_fifo_errors:4d} {frame:5d} {0:10d} {s.multicast:9d}"
            f" {s.tx_bytes:8d} {s.tx_packets:7d} {s.tx_errors:4d} {s.tx_dropped:4d} {s.tx_fifo_errors:4d}"
            f" {s.collisions:5d} {carrier:7d} {0:10d}\n")


def dev_seq_show(host: Any) -> str:
    """``/proc/net/dev``: the two heading lines, then a line for each device."""
    return ("Inter-|   Receive                                                |  Transmit\n"
            " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls"
            " carrier compressed\n" + "".join(dev_seq_printf_stats(dev) for dev in _devices(host)))


def dev_mc_seq_show(host: Any) -> str:
    """``/proc/net/dev_mcast`` (``dev_mc_seq_show``): for each device, each multicast link address
    in the order it was added, with its users; no heading.  ``global_use`` (``dev_mc_add_global``,
    which only bonding and the like call) is 0."""
    return "".join(f"{dev.ifindex:<4d} {dev.name:<15} {users:<5d} {0:<5d} {addr.hex()}\n"
                   for dev in _devices(host) for addr, users in dev.mc_list.items())
