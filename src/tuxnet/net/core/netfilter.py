"""Netfilter hook points (net/netfilter/core.c, include/linux/netfilter.h).

Each host has, per hook, a list of (priority, function) entries, empty by default.  A hook
function gets ``(host, skb, state)`` and returns a verdict: NF_ACCEPT lets the packet go on to the
next entry and finally to ``okfn``; NF_DROP frees it; NF_STOLEN means the hook took it.  As in
Linux, the hook point then returns what the sender sees: ``okfn``'s result, 0 for a stolen
packet, and -EPERM for a dropped one (so a send that a LOCAL_OUT or POST_ROUTING hook drops fails
with "Operation not permitted").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tuxnet.kernel.errno import EPERM
from tuxnet.net.core.skbuff import skb_linearize

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host
    from tuxnet.net.core.skbuff import SkBuff

NF_DROP = 0
NF_ACCEPT = 1
NF_STOLEN = 2

NF_INET_PRE_ROUTING = 0
NF_INET_LOCAL_IN = 1
NF_INET_FORWARD = 2
NF_INET_LOCAL_OUT = 3
NF_INET_POST_ROUTING = 4
NF_INET_NUMHOOKS = 5

NFPROTO_IPV4 = 2

HOOK_NAMES = ("PRE_ROUTING", "LOCAL_IN", "FORWARD", "LOCAL_OUT", "POST_ROUTING")

HookFn = Callable[["Host", "SkBuff", "NfHookState"], int]


class NfHookState:
    """``struct nf_hook_state``: where the packet is."""

    __slots__ = ("hook", "pf", "indev", "outdev", "sk")

    def __init__(self, hook: int, pf: int, indev: Any, outdev: Any, sk: Any) -> None:
        self.hook = hook
        self.pf = pf
        self.indev = indev
        self.outdev = outdev
        self.sk = sk


def nf_register_net_hook(host: Host, hook: int, fn: HookFn, priority: int = 0) -> None:
    """``nf_register_net_hook``: add ``fn`` to ``hook``, ordered by priority."""
    entries = host.nf_hooks[hook]
    entries.append((priority, fn))
    entries.sort(key=lambda e: e[0])


def nf_unregister_net_hook(host: Host, hook: int, fn: HookFn) -> None:
    host.nf_hooks[hook][:] = [e for e in host.nf_hooks[hook] if e[1] is not fn]


def nf_hook_slow(host: Host, hook: int, sk: Any, skb: SkBuff, indev: Any, outdev: Any) -> int:
    """``nf_hook_slow``: run the hook's entries; 1 (NF_ACCEPT) if all accept, -EPERM when one
    drops the packet, 0 when one steals it."""
    state = NfHookState(hook, NFPROTO_IPV4, indev, outdev, sk)
    if skb.frags is not None:
        skb_linearize(skb)  # (the hooks read one run of bytes)
    for _, fn in host.nf_hooks[hook]:
        verdict = fn(host, skb, state)
        if verdict == NF_DROP:
            return -EPERM
        if verdict != NF_ACCEPT:
            return 0
    return NF_ACCEPT


def NF_HOOK(host: Host, hook: int, sk: Any, skb: SkBuff, indev: Any, outdev: Any,
            okfn: Callable[[Host, Any, SkBuff], int]) -> int:
    """``NF_HOOK``: run the hook, then ``okfn(host, sk, skb)`` when the packet is accepted; what
    ``nf_hook_slow`` said otherwise."""
    if host.nf_hooks[hook]:
        ret = nf_hook_slow(host, hook, sk, skb, indev, outdev)
        if ret != NF_ACCEPT:
            return ret
    return okfn(host, sk, skb)
