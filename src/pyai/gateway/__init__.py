"""The gateway: authentication, scopes, limits, billing gate, metering and error envelopes."""
