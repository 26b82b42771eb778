"""SO_NETNS_COOKIE: a socket reads its namespace's cookie, a u64 each namespace is given when made
(``preinit_net``: one counter over all of them), in exactly eight octets."""

from __future__ import annotations

from tuxnet.net.core.sock import SO_NETNS_COOKIE, SOL_SOCKET
from tuxnet.net.socket import AF_INET, SOCK_DGRAM
from tuxnet.user import libc
from tuxnet.world import World


def test_each_host_is_a_namespace_with_a_cookie_of_its_own() -> None:
    world = World(seed=1)
    hosts = [world.add_host(name) for name in ("a", "b", "c")]
    out: dict[str, object] = {}

    def read(name: str) -> None:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        out[name] = int.from_bytes(libc.getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE), "little")
        try:
            libc.getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, 4)
        except OSError as e:
            out[name + " in 4"] = e.errno

    for host in hosts:
        host.spawn(read, host.name)
    world.run_for(10**6)
    assert [out[h.name] for h in hosts] == [1, 2, 3]
    assert out["a in 4"] == 22  # EINVAL
