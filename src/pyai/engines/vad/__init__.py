"""Voice activity detection: frame-level speech detection, endpointing, silence splitting."""

from pyai.engines.vad.webrtc import Endpointer, speech_seconds, split_on_silence

__all__ = ["Endpointer", "speech_seconds", "split_on_silence"]
