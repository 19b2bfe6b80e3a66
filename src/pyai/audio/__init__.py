"""Audio plumbing: decode any container (PyAV), resample (soxr), encode streams, PCM and G.711."""
