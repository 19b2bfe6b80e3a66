"""Hear: speech-to-text services (batch, streaming, async jobs) on the STT engines."""
