"""Test support: real servers (CouchDB-compatible, WebDAV tape archive), gfal2 fixtures, kits."""
