"""Outbound networking: the SSRF guard every server-initiated request goes through."""
