"""Speak: synthesis, the stock voice catalog, avatars/previews, cloning and voice design."""
