/* Being written. */
typedef int phyllome_placeholder_virtio_pci;
