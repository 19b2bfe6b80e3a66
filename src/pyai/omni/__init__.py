"""Omni: the conversation engine and its stored configuration (agent profiles, tools, the tool executor)."""
