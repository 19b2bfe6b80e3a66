"""Voice analysis, cloning (match a reference speaker) and design (voices from a description)."""
