"""Text-to-speech: flite's statistical voices, reshaped per voice with the WORLD vocoder."""
