"""Voice design: read a description ("a warm, slow, older Scottish man") into attributes, then
make distinct candidate voices that match it."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, replace

from pyai.engines.tts.base import VoiceSpec

_GENDER = {
    "F": ("woman", "female", "girl", "lady", "she", "her", "feminine", "mother", "grandmother"),
    "M": ("man", "male", "boy", "guy", "gentleman", "he", "his", "masculine", "father", "grandfather"),
}
_AGE = {
    "young": ("young", "youthful", "teen", "teenage", "kid", "twenties", "student"),
    "older": ("old", "older", "elderly", "senior", "aged", "mature", "grandmother", "grandfather", "retired"),
}
_ACCENT = {
    "scotland": ("scottish", "scotland", "scots", "glasgow", "edinburgh", "highland"),
    "us": ("american", "us", "usa", "midwest", "texan", "californian", "new york"),
}
_PACE = {
    0.8: ("slow", "slowly", "unhurried", "relaxed", "leisurely", "deliberate"),
    1.2: ("fast", "quick", "quickly", "rapid", "brisk", "snappy"),
}
_ENERGY = {
    0.7: ("calm", "flat", "monotone", "soothing", "soft", "gentle", "serious"),
    1.35: ("energetic", "excited", "lively", "animated", "expressive", "cheerful", "upbeat", "bubbly"),
}
_PITCH = {
    "low": ("deep", "low", "bass", "gravelly", "husky", "dark", "booming", "baritone"),
    "high": ("high", "bright", "light", "squeaky", "thin", "airy", "soprano"),
}


@dataclass(frozen=True)
class DesignAttributes:
    gender: str | None = None  # M | F
    age: str = "middle"  # young | middle | older
    accent: str | None = None  # us | scotland
    pace: float = 1.0
    energy: float = 1.0
    pitch: str | None = None  # low | high


def _find(words: set[str], table: dict) -> object | None:
    for value, cues in table.items():
        if any(c in words for c in cues):
            return value
    return None


def parse_prompt(prompt: str, attributes: dict | None = None) -> DesignAttributes:
    """Attributes from free text; explicit ``attributes`` (gender, age, accent, pace, energy) win."""
    text = prompt.lower()
    words = set(re.findall(r"[a-z]+", text)) | {p for p in ("new york",) if p in text}
    attrs = DesignAttributes(
        gender=_find(words, _GENDER),
        age=_find(words, _AGE) or "middle",
        accent=_find(words, _ACCENT),
        pace=_find(words, _PACE) or 1.0,
        energy=_find(words, _ENERGY) or 1.0,
        pitch=_find(words, _PITCH),
    )
    given = attributes or {}
    if g := given.get("gender"):
        g = g.strip().lower()
        attrs = replace(
            attrs, gender="F" if g in ("f", "female", "woman") else "M" if g in ("m", "male", "man") else None
        )
    if a := given.get("age"):
        a = str(a).lower()
        n = int(a) if a.isdigit() else None
        age = (
            ("young" if n < 30 else "older" if n >= 55 else "middle") if n is not None else _find({a}, _AGE) or "middle"
        )
        attrs = replace(attrs, age=age)
    if acc := given.get("accent"):
        attrs = replace(attrs, accent=_find(set(re.findall(r"[a-z]+", acc.lower())), _ACCENT) or attrs.accent)
    if given.get("pace") is not None:
        attrs = replace(attrs, pace=float(given["pace"]))
    if given.get("energy") is not None:
        attrs = replace(attrs, energy=float(given["energy"]))
    return attrs


def design_candidates(attrs: DesignAttributes, n: int, seed: int) -> list[VoiceSpec]:
    """``n`` distinct specs matching ``attrs``, deterministic for ``seed``."""
    rng = random.Random(seed)
    gender = attrs.gender or rng.choice("MF")
    if attrs.accent == "scotland":
        bases = ["awb"]
    elif gender == "F":
        bases = ["slt", "slt", "rms"]
    else:
        bases = ["rms", "kal16", "slt"] if attrs.accent != "us" else ["rms", "kal16"]
    age_pitch = {"young": 2.0, "middle": 0.0, "older": -2.5}[attrs.age]
    age_rate = {"young": 1.08, "middle": 1.0, "older": 0.88}[attrs.age]
    pitch_bias = {"low": -3.0, "high": 3.0, None: 0.0}[attrs.pitch]
    specs: list[VoiceSpec] = []
    for i in range(n):
        base = bases[i % len(bases)]
        # gender conversion of a base of the other sex: shift pitch and vocal tract together
        native_female = base == "slt"
        convert = 0.0 if native_female == (gender == "F") else (-7.0 if native_female else 8.0)
        formant = 1.0 if convert == 0 else (0.87 if convert < 0 else 1.15)
        jitter = rng.uniform(-1.2, 1.2)
        specs.append(
            VoiceSpec(
                engine="flite",
                base_voice=base,
                pitch_shift=round(convert + age_pitch + pitch_bias + jitter, 2),
                formant_shift=round(
                    formant * (1 + {"low": -0.04, "high": 0.04, None: 0.0}[attrs.pitch] + rng.uniform(-0.03, 0.03)), 3
                ),
                rate=round(attrs.pace * age_rate * rng.uniform(0.95, 1.05), 3),
                pitch_range=round(attrs.energy * rng.uniform(0.9, 1.1), 3),
            )
        )
    return specs
