"""Packet scheduling (net/sched/): the root qdisc of a device, as ``tc qdisc`` sets it."""
