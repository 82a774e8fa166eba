/* Being written. */
typedef int phyllome_placeholder_netdev;
