"""Knowledge for Cue grounding: hosted knowledge bases (full-text search) and customer endpoints."""
