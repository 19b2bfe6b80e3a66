"""Text utilities for speech: spoken-number normalisation, word error rate."""
