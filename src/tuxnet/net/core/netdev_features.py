"""A device's offload features (include/linux/netdev_features.h, the ones that matter here): what
``dev->features`` says the device does itself, so that the stack need not."""

NETIF_F_HW_CSUM = 1 << 0  # checksums any packet (CHECKSUM_PARTIAL is completed by the device)
NETIF_F_SG = 1 << 1  # gathers a packet's page fragments (scatter-gather DMA)
NETIF_F_TSO = 1 << 2  # segments TCP over IPv4 itself
NETIF_F_LLTX = 1 << 3  # transmits without the queue's lock
NETIF_F_RXCSUM = 1 << 4  # checks received checksums
NETIF_F_GRO = 1 << 5  # receive packets merged in software (GRO)
NETIF_F_GSO_UDP_L4 = 1 << 6  # takes UDP GSO packets whole (loopback; any other segments them first)
