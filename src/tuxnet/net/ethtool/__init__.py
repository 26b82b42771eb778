"""The kernel side of ``ethtool`` (net/ethtool/): a device's interrupt moderation
(coalesce.c) and its offload features (features.c)."""

from __future__ import annotations

from typing import Any

from tuxnet.kernel.errno import EINVAL, EOPNOTSUPP
from tuxnet.net.core.dev import NetDevice
from tuxnet.net.core.netdev_features import (
    NETIF_F_GRO,
    NETIF_F_GSO_UDP_L4,
    NETIF_F_HW_CSUM,
    NETIF_F_RXCSUM,
    NETIF_F_SG,
    NETIF_F_TSO,
)

# ethtool's feature names for the bits tuxnet models (ethtool -k).  Software GSO is always on.
FEATURE_NAMES = {
    "rx-checksumming": NETIF_F_RXCSUM,
    "tx-checksumming": NETIF_F_HW_CSUM,
    "scatter-gather": NETIF_F_SG,
    "tcp-segmentation-offload": NETIF_F_TSO,
    "generic-receive-offload": NETIF_F_GRO,
    "tx-udp-segmentation": NETIF_F_GSO_UDP_L4,
}
FEATURE_ALIASES = {"rx": "rx-checksumming", "tx": "tx-checksumming", "sg": "scatter-gather",
                   "tso": "tcp-segmentation-offload", "gro": "generic-receive-offload"}


def ethtool_get_coalesce(dev: NetDevice) -> dict[str, Any] | int:
    """``ETHTOOL_MSG_COALESCE_GET``: the receive interrupt moderation, or -EOPNOTSUPP."""
    ring = getattr(dev, "rx_ring", None)
    if ring is None:
        return -EOPNOTSUPP
    return {"rx-usecs": ring.rx_usecs, "rx-frames": ring.rx_max_frames}


def ethtool_set_coalesce(dev: NetDevice, rx_usecs: int | None = None, rx_frames: int | None = None) -> int:
    """``ETHTOOL_MSG_COALESCE_SET``: interrupt ``rx_usecs`` after the first waiting frame, or once
    ``rx_frames`` wait (0: no frame limit); 0 or -errno."""
    ring = getattr(dev, "rx_ring", None)
    if ring is None:
        return -EOPNOTSUPP
    if (rx_usecs is not None and rx_usecs < 0) or (rx_frames is not None and rx_frames < 0):
        return -EINVAL
    if rx_usecs is not None:
        ring.rx_usecs = rx_usecs
    if rx_frames is not None:
        ring.rx_max_frames = rx_frames
    return 0


def ethtool_hw_features(dev: NetDevice) -> int:
    """``dev->hw_features``: the features the user may switch."""
    return dev.hw_features


def netdev_fix_features(features: int) -> int:
    """``netdev_fix_features``: TSO needs the device to gather a packet's fragments ("Dropping
    TSO features since no SG feature") and to checksum what it cuts ("... no CSUM feature")."""
    if features & NETIF_F_TSO and not (features & NETIF_F_SG and features & NETIF_F_HW_CSUM):
        features &= ~NETIF_F_TSO
    return features


def ethtool_set_features(dev: NetDevice, wanted: dict[int, bool]) -> int:
    """``ETHTOOL_MSG_FEATURES_SET``: switch features on or off; -EOPNOTSUPP for one the device
    does not let the user change, -EINVAL for one that another feature's absence rules out
    (``ethtool -K`` then says it could not, and nothing changes)."""
    switchable = ethtool_hw_features(dev)
    features = dev.features
    for bit, on in wanted.items():
        if not bit & switchable:
            if bool(features & bit) != on:
                return -EOPNOTSUPP
            continue
        features = features | bit if on else features & ~bit
    fixed = netdev_fix_features(features)
    if any(on and not fixed & bit for bit, on in wanted.items()):
        return -EINVAL
    dev.features = fixed
    return 0
