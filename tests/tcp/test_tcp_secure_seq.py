"""RFC 6528 sequence numbers, RFC 7323 timestamp offsets and RFC 6056 port offsets: keyed hashes
of the addresses with the host's boot secret (net/core/secure_seq.c)."""

from __future__ import annotations

from tuxnet.net.core.utils import in_aton
from tuxnet.net.ipv4.inet_hashtables import PAIR_HASHES_KEPT
from tuxnet.net.ipv4.tcp_ipv4 import secure_tcp_seq, secure_tcp_ts_off
from tuxnet.net.ipv4.tcp_sock import SEQ_MASK
from tuxnet.world import World


def test_offsets_are_keyed_per_host_and_pair_and_kept_in_a_bounded_table():
    world = World(seed=7)
    a, b = world.add_host("a"), world.add_host("b")
    x, y, z = in_aton("10.0.0.1"), in_aton("10.0.0.2"), in_aton("10.0.0.3")
    hashinfo = a.tcp_hashinfo

    # The offset of a pair is its keyed hash, the same for every connection between the two ...
    assert secure_tcp_ts_off(a, x, y) == hashinfo.keyed_hash(x, y, 0x7473) & SEQ_MASK
    assert secure_tcp_ts_off(a, x, y) == secure_tcp_ts_off(a, x, y)
    # ... another pair's, or another host's (another boot secret), is unrelated.
    assert secure_tcp_ts_off(a, x, z) != secure_tcp_ts_off(a, x, y)
    assert secure_tcp_ts_off(b, x, y) != secure_tcp_ts_off(a, x, y)
    # The ISN hashes the ports too, and moves with the 4 us clock.
    assert secure_tcp_seq(a, x, y, 1000, 80) != secure_tcp_seq(a, x, y, 1001, 80)
    isn = secure_tcp_seq(a, x, y, 1000, 80)
    world.run_for(400_000)
    assert secure_tcp_seq(a, x, y, 1000, 80) == (isn + 100) & SEQ_MASK

    # Pairs' hashes are computed once, in a table that does not grow without bound.
    for host_part in range(PAIR_HASHES_KEPT + 100):
        value = hashinfo.keyed_hash_of_pair(x, host_part, 80)
        assert value == hashinfo.keyed_hash(x, host_part, 80)
        assert len(hashinfo._pair_hashes) <= PAIR_HASHES_KEPT
    assert hashinfo.keyed_hash_of_pair(x, 5, 80) == hashinfo.keyed_hash(x, 5, 80)
