"""802.1Q virtual LANs (Linux's net/8021q/)."""
