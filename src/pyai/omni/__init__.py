"""Omni's stored configuration: agent profiles, tools and the tool executor."""
