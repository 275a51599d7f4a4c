"""The CLI of the login node (``lrt``)."""
