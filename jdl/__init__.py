"""Job description templates (``*.jdl``, ``*.sh``, ``*.sub``) and the pilot bootstrap: data
read by :mod:`grid_lrt.client.submit.templates`; see README.md in this folder."""
