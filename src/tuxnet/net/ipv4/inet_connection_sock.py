"""What every connection-oriented socket shares (net/ipv4/inet_connection_sock.c): freeing one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuxnet.net.core.sock import sk_mem_uncharge

if TYPE_CHECKING:
    from tuxnet.net.ipv4.tcp_sock import TcpSock


def inet_csk_destroy_sock(sk: TcpSock) -> None:
    """``inet_csk_destroy_sock``: free an orphan that reached CLOSE."""
    sk.host.tcp_hashinfo.put_port(sk)
    sk.sk_receive_queue.clear()
    sk.sk_error_queue.clear()  # (sk_stream_kill_queues: unread zerocopy notifications go too)
    sk.out_of_order_queue = []
    sk.sk_write_queue.clear()
    sk.tcp_rtx_queue.clear()
    sk.tsorted_sent_queue.clear()
    sk_mem_uncharge(sk, sk.sk_rmem_alloc + sk.sk_wmem_queued)  # (sk_stream_kill_queues: all of it)
    sk.sk_rmem_alloc = 0
    sk.sk_wmem_queued = 0
    sk.host.tcp_orphans.discard(sk)
    # The socket is freed now (sk_free): its timers are shut down (timer_shutdown_sync).
    for timer in sk.tcp_timers():
        timer.shutdown()
    if sk.tsq_tasklet is not None:
        sk.tsq_tasklet.shutdown()
