"""What both ends share: token schema, error codes, the CouchDB client. Python 3.9+, stdlib + requests."""
