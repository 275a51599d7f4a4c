"""Worker-node launcher of grid-lrt. Imports only ``grid_lrt.shared`` and the stdlib (+requests)."""
