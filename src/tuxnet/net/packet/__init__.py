"""Packet sockets (net/packet/)."""
