"""Login-node side of grid-lrt: token pools, SURL lists, staging, sandboxes, submission."""
