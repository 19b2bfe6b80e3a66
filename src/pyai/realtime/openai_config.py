"""An OpenAI Realtime session's configuration: ``session.update`` in either shape (GA: nested
``audio.input`` / ``audio.output`` and ``session.type: "realtime"``; beta: flat
``input_audio_format``, ``voice``, ``turn_detection``…), validated field by field, and the
effective configuration rendered back in the shape the client speaks.

Formats map to the conversation's 24 kHz: ``audio/pcm`` (``pcm16``) is 24 kHz PCM16,
``audio/pcmu`` / ``audio/pcma`` (``g711_ulaw`` / ``g711_alaw``) are 8 kHz G.711.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

DEFAULT_INSTRUCTIONS = "You are a helpful voice agent. Keep answers short."
FORMATS = ("pcm16", "g711_ulaw", "g711_alaw")
_GA_FORMATS = {"audio/pcm": "pcm16", "audio/pcmu": "g711_ulaw", "audio/pcma": "g711_alaw"}
_BETA_ONLY = frozenset(
    {
        "modalities",
        "voice",
        "input_audio_format",
        "output_audio_format",
        "input_audio_transcription",
        "turn_detection",
        "temperature",
        "max_response_output_tokens",
        "speed",
        "input_audio_noise_reduction",
    }
)
_GA_ONLY = frozenset({"type", "audio", "output_modalities", "max_output_tokens", "tracing", "truncation", "include"})
_BOTH = frozenset({"instructions", "tools", "tool_choice", "model", "prompt", "object", "id", "expires_at"})
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
EAGERNESS = ("low", "medium", "high", "auto")


class ConfigError(ValueError):
    """A field of ``session.update`` (or ``response.create``) is wrong; ``param`` names it."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param
        self.message = message


@dataclass
class TurnDetection:
    type: str = "server_vad"  # or semantic_vad
    threshold: float = 0.5
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 500
    eagerness: str = "auto"
    create_response: bool = True
    interrupt_response: bool = True

    def render(self) -> dict:
        common = {"create_response": self.create_response, "interrupt_response": self.interrupt_response}
        if self.type == "semantic_vad":
            return {"type": "semantic_vad", "eagerness": self.eagerness, **common}
        return {
            "type": "server_vad",
            "threshold": self.threshold,
            "prefix_padding_ms": self.prefix_padding_ms,
            "silence_duration_ms": self.silence_duration_ms,
            "idle_timeout_ms": None,
            **common,
        }


@dataclass
class RealtimeConfig:
    instructions: str = DEFAULT_INSTRUCTIONS
    voice: str = "alloy"
    input_format: str = "pcm16"
    output_format: str = "pcm16"
    turn_detection: TurnDetection | None = field(default_factory=TurnDetection)
    transcription: dict | None = None  # {model, language, prompt}: send the caller's transcripts
    noise_reduction: dict | None = None  # accepted and echoed (the echo gate and VAD always run)
    tools: list[dict] = field(default_factory=list)
    tool_choice: str | dict = "auto"
    temperature: float = 0.8
    max_output_tokens: int | str = "inf"
    output_modalities: list[str] = field(default_factory=lambda: ["audio"])
    speed: float = 1.0

    def updated(self, session: object) -> tuple[RealtimeConfig, bool]:
        """A copy with ``session``'s fields applied, and whether it was beta-shaped."""
        if not isinstance(session, dict):
            raise ConfigError("session", "expected an object")
        unknown = sorted(set(session) - _BETA_ONLY - _GA_ONLY - _BOTH)
        if unknown:
            raise ConfigError(f"session.{unknown[0]}", "unknown parameter")
        if session.get("type", "realtime") != "realtime":
            raise ConfigError("session.type", "only 'realtime' sessions are served here")
        new = copy.deepcopy(self)
        beta = bool(set(session) & _BETA_ONLY)
        if "instructions" in session:
            new.instructions = _string(session["instructions"], "session.instructions", 16000) or DEFAULT_INSTRUCTIONS
        if "tools" in session:
            new.tools = _tools(session["tools"])
        if "tool_choice" in session:
            new.tool_choice = _tool_choice(session["tool_choice"])
        # beta, flat
        if "voice" in session:
            new.voice = _voice(session["voice"], "session.voice")
        for key, attr in (("input_audio_format", "input_format"), ("output_audio_format", "output_format")):
            if key in session:
                setattr(new, attr, _format(session[key], f"session.{key}"))
        if "turn_detection" in session:
            new.turn_detection = _turn_detection(session["turn_detection"], "session.turn_detection")
        if "input_audio_transcription" in session:
            new.transcription = _optional_object(
                session["input_audio_transcription"], "session.input_audio_transcription"
            )
        if "input_audio_noise_reduction" in session:
            new.noise_reduction = _optional_object(
                session["input_audio_noise_reduction"], "session.input_audio_noise_reduction"
            )
        if "modalities" in session:
            new.output_modalities = _modalities(session["modalities"], "session.modalities")
        if "temperature" in session:
            new.temperature = _number(session["temperature"], "session.temperature", 0.0, 2.0)
        if "speed" in session:
            new.speed = _number(session["speed"], "session.speed", 0.25, 1.5)
        if "max_response_output_tokens" in session:
            new.max_output_tokens = _max_tokens(
                session["max_response_output_tokens"], "session.max_response_output_tokens"
            )
        # GA, nested
        if "output_modalities" in session:
            new.output_modalities = _modalities(session["output_modalities"], "session.output_modalities")
        if "max_output_tokens" in session:
            new.max_output_tokens = _max_tokens(session["max_output_tokens"], "session.max_output_tokens")
        if "audio" in session:
            new._audio(session["audio"])
        return new, beta

    def _audio(self, audio: object) -> None:
        audio = _object(audio, "session.audio")
        _known(audio, {"input", "output"}, "session.audio")
        if "input" in audio:
            given = _object(audio["input"], "session.audio.input")
            _known(given, {"format", "transcription", "noise_reduction", "turn_detection"}, "session.audio.input")
            if "format" in given:
                self.input_format = _format(given["format"], "session.audio.input.format")
            if "transcription" in given:
                self.transcription = _optional_object(given["transcription"], "session.audio.input.transcription")
            if "noise_reduction" in given:
                self.noise_reduction = _optional_object(given["noise_reduction"], "session.audio.input.noise_reduction")
            if "turn_detection" in given:
                self.turn_detection = _turn_detection(given["turn_detection"], "session.audio.input.turn_detection")
        if "output" in audio:
            given = _object(audio["output"], "session.audio.output")
            _known(given, {"format", "voice", "speed"}, "session.audio.output")
            if "format" in given:
                self.output_format = _format(given["format"], "session.audio.output.format")
            if "voice" in given:
                self.voice = _voice(given["voice"], "session.audio.output.voice")
            if "speed" in given:
                self.speed = _number(given["speed"], "session.audio.output.speed", 0.25, 1.5)

    def render(self, *, beta: bool, session_id: str, model: str, expires_at: int) -> dict:
        """The effective configuration, in the shape the client speaks."""
        turn = self.turn_detection.render() if self.turn_detection is not None else None
        base = {"id": session_id, "object": "realtime.session", "model": model, "expires_at": expires_at}
        if beta:
            return {
                **base,
                "modalities": ["text"] if self.output_modalities == ["text"] else ["text", "audio"],
                "instructions": self.instructions,
                "voice": self.voice,
                "input_audio_format": self.input_format,
                "output_audio_format": self.output_format,
                "input_audio_transcription": self.transcription,
                "input_audio_noise_reduction": self.noise_reduction,
                "turn_detection": turn,
                "tools": self.tools,
                "tool_choice": self.tool_choice,
                "temperature": self.temperature,
                "max_response_output_tokens": self.max_output_tokens,
                "speed": self.speed,
            }
        return {
            **base,
            "type": "realtime",
            "output_modalities": list(self.output_modalities),
            "instructions": self.instructions,
            "audio": {
                "input": {
                    "format": ga_format(self.input_format),
                    "transcription": self.transcription,
                    "noise_reduction": self.noise_reduction,
                    "turn_detection": turn,
                },
                "output": {"format": ga_format(self.output_format), "voice": self.voice, "speed": self.speed},
            },
            "tools": self.tools,
            "tool_choice": self.tool_choice,
            "max_output_tokens": self.max_output_tokens,
            "tracing": None,
            "truncation": "auto",
            "prompt": None,
            "include": None,
        }


def ga_format(fmt: str) -> dict:
    return {"type": "audio/pcm", "rate": 24000} if fmt == "pcm16" else {"type": f"audio/pcm{fmt[-4]}"}


def format_rate(fmt: str) -> int:
    return 24000 if fmt == "pcm16" else 8000


def parse_modalities(value: object, param: str) -> list[str]:
    """A ``response.create``'s ``output_modalities`` (or beta ``modalities``)."""
    return _modalities(value, param)


# ---- field validators ------------------------------------------------------------------------
def parse_max_tokens(value: object, param: str) -> int | str:
    """A ``response.create``'s ``max_output_tokens``."""
    return _max_tokens(value, param)


def _object(value: object, param: str) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(param, "expected an object")
    return value


def _optional_object(value: object, param: str) -> dict | None:
    return None if value is None else _object(value, param)


def _known(value: dict, names: set[str], param: str) -> None:
    unknown = sorted(set(value) - names)
    if unknown:
        raise ConfigError(f"{param}.{unknown[0]}", "unknown parameter")


def _string(value: object, param: str, limit: int) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise ConfigError(param, f"expected a string of at most {limit} characters")
    return value


def _number(value: object, param: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ConfigError(param, f"expected a number from {low} to {high}")
    return float(value)


def _voice(value: object, param: str) -> str:
    if isinstance(value, dict) and isinstance(value.get("id"), str):  # GA custom voice: {"id": "voice_…"}
        return value["id"]
    if not isinstance(value, str) or not value:
        raise ConfigError(param, "expected a voice name or id")
    return value


def _format(value: object, param: str) -> str:
    if isinstance(value, str) and value in FORMATS:
        return value
    if isinstance(value, str) and value in _GA_FORMATS:
        return _GA_FORMATS[value]
    if isinstance(value, dict) and value.get("type") in _GA_FORMATS:
        fmt = _GA_FORMATS[value["type"]]
        rate = value.get("rate", format_rate(fmt))
        if rate != format_rate(fmt):
            raise ConfigError(f"{param}.rate", f"{value['type']} is served at {format_rate(fmt)} Hz only")
        return fmt
    raise ConfigError(param, "expected audio/pcm (24 kHz), audio/pcmu or audio/pcma (pcm16, g711_ulaw, g711_alaw)")


def _modalities(value: object, param: str) -> list[str]:
    if not isinstance(value, list) or not value or not set(value) <= {"text", "audio"}:
        raise ConfigError(param, 'expected ["audio"] or ["text"]')
    if "audio" in value:
        return ["audio"]
    return ["text"]


def _max_tokens(value: object, param: str) -> int | str:
    if value == "inf":
        return "inf"
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4096:
        raise ConfigError(param, 'expected an integer from 1 to 4096, or "inf"')
    return value


def _turn_detection(value: object, param: str) -> TurnDetection | None:
    if value is None:
        return None
    value = _object(value, param)
    kind = value.get("type", "server_vad")
    if kind not in ("server_vad", "semantic_vad"):
        raise ConfigError(f"{param}.type", "expected server_vad, semantic_vad, or null for push-to-talk")
    allowed = {"type", "create_response", "interrupt_response"}
    allowed |= {"eagerness"} if kind == "semantic_vad" else {"threshold", "prefix_padding_ms", "silence_duration_ms"}
    allowed |= {"idle_timeout_ms"} if kind == "server_vad" else set()
    _known(value, allowed, param)
    turn = TurnDetection(kind)
    for name in ("create_response", "interrupt_response"):
        if name in value:
            if not isinstance(value[name], bool):
                raise ConfigError(f"{param}.{name}", "expected true or false")
            setattr(turn, name, value[name])
    if "threshold" in value:
        turn.threshold = _number(value["threshold"], f"{param}.threshold", 0.0, 1.0)
    for name, high in (("prefix_padding_ms", 2000), ("silence_duration_ms", 10000)):
        if name in value:
            given = value[name]
            if isinstance(given, bool) or not isinstance(given, int) or not 0 <= given <= high:
                raise ConfigError(f"{param}.{name}", f"expected an integer from 0 to {high}")
            setattr(turn, name, given)
    if value.get("idle_timeout_ms") is not None:
        raise ConfigError(f"{param}.idle_timeout_ms", "not supported by this server (leave it null)")
    if "eagerness" in value:
        if value["eagerness"] not in EAGERNESS:
            raise ConfigError(f"{param}.eagerness", f"expected one of {', '.join(EAGERNESS)}")
        turn.eagerness = value["eagerness"]
    return turn


def _tools(value: object) -> list[dict]:
    if not isinstance(value, list) or len(value) > 128:
        raise ConfigError("session.tools", "expected a list of at most 128 function tools")
    tools = []
    for i, tool in enumerate(value):
        param = f"session.tools[{i}]"
        tool = _object(tool, param)
        if tool.get("type", "function") != "function":
            raise ConfigError(f"{param}.type", "only function tools are served here")
        _known(tool, {"type", "name", "description", "parameters"}, param)
        name = tool.get("name")
        if not isinstance(name, str) or not _TOOL_NAME.match(name):
            raise ConfigError(f"{param}.name", "expected 1-64 letters, digits, '_' or '-'")
        description = _string(tool.get("description", ""), f"{param}.description", 4096)
        parameters = tool.get("parameters") or {"type": "object", "properties": {}}
        if not isinstance(parameters, dict):
            raise ConfigError(f"{param}.parameters", "expected a JSON Schema object")
        tools.append({"type": "function", "name": name, "description": description, "parameters": parameters})
    return tools


def _tool_choice(value: object) -> str | dict:
    if value in ("auto", "none", "required"):
        return value  # type: ignore[return-value]
    if isinstance(value, dict) and value.get("type") == "function" and isinstance(value.get("name"), str):
        return {"type": "function", "name": value["name"]}
    raise ConfigError("session.tool_choice", 'expected "auto", "none", "required" or {"type": "function", "name": …}')
