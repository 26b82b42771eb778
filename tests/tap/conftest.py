"""A Linux network namespace with a TAP device whose other end is a tuxnet host.

Each test gets its own namespace (a unique name), removed whatever happens.  Tests skip, saying
why, where root, /dev/net/tun or iproute2 is missing.  Traffic stays on the namespace's addresses.
"""

from __future__ import annotations

import itertools
import os

import pytest

from tuxnet.tapnet import Netns, make_pair, netns_unavailable

_counter = itertools.count(1)


@pytest.fixture
def netns():
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    try:
        ns = Netns(f"tuxnet-{os.getpid()}-{next(_counter)}")
    except OSError as e:
        pytest.skip(str(e))
    try:
        yield ns
    finally:
        ns.close()


@pytest.fixture
def pair_factory():
    """``make_pair`` as a fixture, for tests that choose offload and loss."""
    return make_pair


@pytest.fixture
def tap_pair(netns):
    pair = make_pair(netns)
    try:
        yield pair
    finally:
        pair.close()
