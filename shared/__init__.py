"""What both ends share: token schema, error codes, the CouchDB client.

Runs on the worker's Python (3.9+) with the standard library and ``requests`` only.
"""
