"""The course's final project, scripted: MenuOS boots in a small network (a switch, a router, a
server LAN with a DNS server and a web server), looks www.example.com up with DNS while the kernel
path is traced, then fetches the page over HTTP.

    python examples/final_project.py        # this script
    tuxnet menuos                            # the same network, typing the commands yourself

The trace shows the query leaving MenuOS through ``udp_sendmsg`` → ``ip_make_skb`` /
``udp_send_skb`` → ``ip_send_skb`` → ... → ``ip_finish_output2``, held while ARP resolves the
gateway (``neigh_resolve_output`` → ``arp_solicit`` → ``arp_send``), then released when the reply
comes in (``arp_rcv`` → ``arp_process`` → ``neigh_update``), and the answer coming back up through
``ip_rcv`` → ``udp_rcv`` → ``udp_recvmsg``.
"""

from __future__ import annotations

import io
import sys

from tuxnet.user.programs.final_project import final_project
from tuxnet.user.programs.menuos import MENUOS_CONFIG, run_session
from tuxnet.world import World

SCRIPT = """\
ifconfig
route -n
trace on
dns www.example.com
trace off
http http://www.example.com/
arp
quit
"""


def main() -> int:
    world = World(seed=0)
    net = final_project(world, echo=sys.stdout)
    return run_session(world, net["menuos"], MENUOS_CONFIG, io.StringIO(SCRIPT), sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
