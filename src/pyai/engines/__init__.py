"""Speech and language engines: each a small interface, implementations, and a registry chosen by settings."""
