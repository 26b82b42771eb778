#!/bin/sh
# Settings shared by some of tuxnet's own packetdrill scripts.
sysctl -q net.ipv4.tcp_timestamps=0
sysctl -q net.ipv4.tcp_sack=0
