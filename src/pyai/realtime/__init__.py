"""WebSocket surfaces: streaming Hear/Cue now; Omni and the OpenAI-Realtime-compatible surface later."""
