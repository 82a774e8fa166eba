/* Being written. */
typedef int phyllome_placeholder_rng;
