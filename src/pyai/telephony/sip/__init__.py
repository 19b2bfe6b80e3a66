"""A small SIP user-agent server and its RTP media, for PBXs and trunks that call PyAI directly."""
