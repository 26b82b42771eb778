"""The out-of-order queue and the SACK blocks a receiver sends (``tcp_data_queue_ofo``,
``tcp_sack_new_ofo_skb``, ``tcp_sack_remove``) and SACK compression (``tcp_comp_sack``): the ACKs
of ``ofo.STEPS`` and ``ofo.BURST`` are those this machine's kernel sent for the same segments
(``tap/test_ofo_sack_vs_linux.py`` asks it again)."""

from __future__ import annotations

from ofo import STEPS, tuxnet_acks, tuxnet_burst_acks

# What Linux 6.18 answered, step by step: (ACK, SACK blocks with a D-SACK first).
KERNEL = [
    [(0, ((1000, 2000),))],
    [(0, ((3000, 4000), (1000, 2000)))],
    [(0, ((5000, 6000), (3000, 4000), (1000, 2000)))],
    [(0, ((7000, 8000), (5000, 6000), (3000, 4000), (1000, 2000)))],
    # a fifth block: the oldest is forgotten, though its data stays queued
    [(0, ((9000, 10000), (7000, 8000), (5000, 6000), (3000, 4000)))],
    # 2000-3000 joins the block it touches, which does not know 1000-2000 any more
    [(0, ((2000, 4000), (9000, 10000), (7000, 8000), (5000, 6000)))],
    # a duplicate: its D-SACK, and the block it extends goes first
    [(0, ((1000, 2000), (1000, 4000), (9000, 10000), (7000, 8000)))],
    # a partial overlap: the D-SACK of the overlap, both segments kept
    [(0, ((3500, 4000), (1000, 4500), (9000, 10000), (7000, 8000)))],
    # the same start and more: the held one is replaced, and reported as a duplicate
    [(0, ((5000, 6000), (5000, 8000), (1000, 4500), (9000, 10000)))],
    # the first hole filled: RCV.NXT jumps to the next hole, the blocks below it go
    [(4500, ((5000, 8000), (9000, 10000)))],
    [(4500, ((5000, 10000),))],
    # partly below RCV.NXT: a D-SACK of the old part, everything in order
    [(10000, ((4000, 4500),))],
    [(10000, ((6000, 7000),))],
]


def test_the_acks_of_an_out_of_order_train_are_the_kernels():
    got = tuxnet_acks()
    assert len(got) == len(STEPS)
    for step, (acks, kernel) in enumerate(zip(got, KERNEL, strict=True)):
        assert acks == kernel, (step, STEPS[step], acks, kernel)


# Linux 6.18 for the ten segments of the burst: three duplicate ACKs at once, one for the other
# seven 1 ms later.
KERNEL_BURST = [(24000, ((25000, 26000),)), (24000, ((25000, 27000),)), (24000, ((25000, 28000),)),
                (24000, ((25000, 35000),))]


def test_sacks_after_the_third_duplicate_ack_are_compressed_into_one():
    # the kernel counted the six ACKs the last one stood for, as tuxnet does
    assert tuxnet_burst_acks() == (KERNEL_BURST, 6)
