"""The ``ethtool`` command, for tuxnet hosts: ``-c``/``-C`` (interrupt moderation: ``rx-usecs``,
``rx-frames``) and ``-k``/``-K`` (offload features: ``rx`` and ``gro`` on every Ethernet NIC, ``tx``
and ``tso`` on a cable's), printing what ethtool prints.

``ethtool(host, "-C eth0 rx-usecs 50")`` runs a command from Python and returns its output;
``ethtool_main`` is the same as a program on a host.  Errors raise ``EthtoolError`` with ethtool's
message.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from tuxnet.kernel.errno import strerror
from tuxnet.net.core.netdev_features import NETIF_F_GRO
from tuxnet.net.ethtool import (
    FEATURE_ALIASES,
    FEATURE_NAMES,
    ethtool_get_coalesce,
    ethtool_hw_features,
    ethtool_set_coalesce,
    ethtool_set_features,
)
from tuxnet.user.ctype import isdigits
from tuxnet.user.tool import ToolError, tool_main

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host


class EthtoolError(ToolError):
    """An ``ethtool`` command failed; the message is ethtool's (and it exits 1)."""


def _dev(host: Host, name: str) -> object:
    if name not in host.devices:
        raise EthtoolError("netlink error: no device matches name (offset 24)\nnetlink error: No such device")
    return host.devices[name]


def _show_coalesce(host: Host, name: str) -> str:
    c = ethtool_get_coalesce(_dev(host, name))
    if isinstance(c, int):
        raise EthtoolError(f"netlink error: {strerror(-c)}")
    return (f"Coalesce parameters for {name}:\nAdaptive RX: off  TX: n/a\n\n"
            f"rx-usecs: {c['rx-usecs']}\nrx-frames: {c['rx-frames']}\nrx-usecs-irq: n/a\nrx-frames-irq: n/a\n\n"
            "tx-usecs: n/a\ntx-frames: n/a\ntx-usecs-irq: n/a\ntx-frames-irq: n/a\n\n")


def _set_coalesce(host: Host, name: str, args: list[str]) -> str:
    dev = _dev(host, name)
    values: dict[str, int] = {}
    if not args or len(args) % 2:
        raise EthtoolError("ethtool: bad command line argument(s)\nFor more information run ethtool -h")
    for key, value in zip(args[::2], args[1::2], strict=True):
        if key not in ("rx-usecs", "rx-frames") or not isdigits(value):
            raise EthtoolError("ethtool: bad command line argument(s)\nFor more information run ethtool -h")
        values[key] = int(value)
    err = ethtool_set_coalesce(dev, values.get("rx-usecs"), values.get("rx-frames"))
    if err:
        raise EthtoolError(f"netlink error: {strerror(-err)}")
    return ""


def _show_features(host: Host, name: str) -> str:
    dev = _dev(host, name)
    lines = [f"Features for {name}:"]
    switchable = ethtool_hw_features(dev)
    for feature, bit in FEATURE_NAMES.items():
        if bit == NETIF_F_GRO:
            lines.append("generic-segmentation-offload: on")  # (ethtool lists it before GRO)
        fixed = "" if bit & switchable else " [fixed]"
        lines.append(f"{feature}: {'on' if dev.features & bit else 'off'}{fixed}")
    return "\n".join(lines) + "\n"


def _set_features(host: Host, name: str, args: list[str]) -> str:
    dev = _dev(host, name)
    if not args or len(args) % 2:
        raise EthtoolError("ethtool: bad command line argument(s)\nFor more information run ethtool -h")
    wanted: dict[int, bool] = {}
    for key, value in zip(args[::2], args[1::2], strict=True):
        feature = FEATURE_ALIASES.get(key, key)
        if feature not in FEATURE_NAMES or value not in ("on", "off"):
            raise EthtoolError("ethtool: bad command line argument(s)\nFor more information run ethtool -h")
        wanted[FEATURE_NAMES[feature]] = value == "on"
    if ethtool_set_features(dev, wanted):
        raise EthtoolError(f"Could not change any device features\nActual changes: none for {name}")
    return ""


def ethtool(host: Host, argv: str | list[str]) -> str:
    """Run one ``ethtool`` command on ``host``; returns its output."""
    args = shlex.split(argv) if isinstance(argv, str) else list(argv)
    if len(args) < 2:
        raise EthtoolError("ethtool: bad command line argument(s)\nFor more information run ethtool -h")
    opt, name, rest = args[0], args[1], args[2:]
    if opt in ("-c", "--show-coalesce") and not rest:
        return _show_coalesce(host, name)
    if opt in ("-C", "--coalesce"):
        return _set_coalesce(host, name, rest)
    if opt in ("-k", "--show-features", "--show-offload") and not rest:
        return _show_features(host, name)
    if opt in ("-K", "--features", "--offload"):
        return _set_features(host, name, rest)
    raise EthtoolError("ethtool: bad command line argument(s)\nFor more information run ethtool -h")


def ethtool_main(argv: list[str]) -> int:
    """``ethtool`` as a program on a host: prints the output, or the error with exit status 1."""
    return tool_main(ethtool, argv)
