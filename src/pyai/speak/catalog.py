"""The 38 stock voices, each a base voice reshaped by pitch, vocal-tract length (formants),
speaking rate and intonation range, on one of three engines (``GET /v1/voices`` names it):

- the 15 US male voices on Piper's neural voice ``joe`` (engines/tts/piper.py), at -4 to -5.5
  semitones: joe is a tenor (~165 Hz median) and a stock voice's pitch must say its gender;
- the 14 US female voices on Festival's HTS voice ``slt_hts`` (engines/tts/festival.py), the same
  speaker as flite's ``slt`` but far clearer;
- the 9 Scottish voices on flite's ``awb`` (the only Scottish-accented voice here), male and, at
  a large pitch shift, female.

All were measured intelligible through Whisper and distinct from each other (docs/benchmarks.md).
Personas follow the sound: the gender is the one the pitch and formants produce, older personas
are slower and flatter, and only two regions are claimed — General American and Scottish —
because those are the accents the base voices have. flite's ``slt``, ``rms`` and ``kal16`` remain
the bases of clones and designs (engines/voice).
"""

from __future__ import annotations

from dataclasses import dataclass

from pyai.engines.tts.base import VoiceSpec

US = "US (General American)"
SCOTLAND = "Scotland (Scottish English)"
_REGION_CODE = {US: "us", SCOTLAND: "scotland"}


@dataclass(frozen=True)
class StockVoice:
    voice_id: str
    name: str
    gender: str
    region: str
    age: str
    tone: str
    bio: str
    spec: VoiceSpec
    language: str = "en"


# name, base, gender, age, pitch st, formant, rate, range, tone, bio (the line its preview reads)
_TABLE = [
    (
        "Emma",
        "slt_hts",
        "F",
        "31",
        0,
        1.0,
        1.0,
        1.0,
        "clear, friendly",
        "I help customers find answers quickly and kindly. Tell me what you need today.",
    ),
    (
        "Olivia",
        "slt_hts",
        "F",
        "24",
        3,
        1.06,
        1.08,
        1.25,
        "bright, upbeat",
        "I love making your day a little easier. Let me know how I can help you right now.",
    ),
    (
        "Grace",
        "slt_hts",
        "F",
        "58",
        -2,
        0.97,
        0.88,
        0.8,
        "calm, measured",
        "Let us take this one step at a time together. There is no need to hurry.",
    ),
    (
        "Chloe",
        "slt_hts",
        "F",
        "19",
        5,
        1.0,
        1.0,
        1.3,
        "youthful, energetic",
        "I can help with almost anything. Just tell me what you are looking for today.",
    ),
    (
        "Hannah",
        "slt_hts",
        "F",
        "36",
        1,
        1.0,
        0.95,
        0.9,
        "warm, patient",
        "I am here to listen and to help. Please tell me about the problem you have.",
    ),
    (
        "Sophia",
        "slt_hts",
        "F",
        "42",
        -1.5,
        1.0,
        0.95,
        1.15,
        "polished, professional",
        "I will walk you through your account and answer every question you have.",
    ),
    (
        "Ava",
        "slt_hts",
        "F",
        "27",
        2.5,
        0.92,
        1.2,
        1.05,
        "quick, efficient",
        "Let us get your order sorted out right away. I can check the status for you.",
    ),
    (
        "Margaret",
        "slt_hts",
        "F",
        "67",
        -3,
        0.94,
        0.82,
        0.7,
        "gentle, reassuring",
        "There is no rush at all. We will find the answer together, one thing at a time.",
    ),
    (
        "Lily",
        "slt_hts",
        "F",
        "29",
        4,
        1.0,
        0.92,
        1.4,
        "expressive, cheerful",
        "I am so glad you called today. I would be happy to help you with your order.",
    ),
    (
        "Daniel",
        "joe",
        "M",
        "34",
        -4.5,
        1.0,
        0.95,
        0.75,
        "steady, soft-spoken",
        "I will make sure everything is taken care of. Please give me your account number.",
    ),
    (
        "Ethan",
        "joe",
        "M",
        "23",
        -4.0,
        1.03,
        1.1,
        0.9,
        "light, casual",
        "What can I help you with today? I can check your order or change your plan.",
    ),
    (
        "Owen",
        "joe",
        "M",
        "45",
        -5.0,
        0.97,
        0.9,
        0.7,
        "low, composed",
        "I handle billing questions every day. Let me look at your last payment for you.",
    ),
    (
        "James",
        "joe",
        "M",
        "40",
        -4.0,
        1.0,
        1.0,
        0.85,
        "confident, direct",
        "Let us solve this together. I will check the system and call you back today.",
    ),
    (
        "Michael",
        "joe",
        "M",
        "52",
        -5.0,
        0.96,
        0.92,
        0.8,
        "deep, authoritative",
        "I am your account specialist. I will review the details and explain the next steps.",
    ),
    (
        "Ryan",
        "joe",
        "M",
        "26",
        -4.5,
        1.05,
        1.15,
        1.05,
        "energetic, friendly",
        "Let us get you set up in no time. The first step is to choose a new password.",
    ),
    (
        "Walter",
        "joe",
        "M",
        "70",
        -5.5,
        0.95,
        0.82,
        0.7,
        "slow, grandfatherly",
        "Take your time, I am listening. Tell me what happened when you called before.",
    ),
    (
        "Nathan",
        "joe",
        "M",
        "33",
        -5.5,
        0.98,
        1.05,
        1.05,
        "lively, engaging",
        "I am happy to answer your questions about the service and the price of each plan.",
    ),
    (
        "Marcus",
        "joe",
        "M",
        "38",
        -4.5,
        0.94,
        1.0,
        0.9,
        "rich, calm",
        "I will check on that for you now. It should only take a moment to find the answer.",
    ),
    (
        "Tyler",
        "joe",
        "M",
        "21",
        -5.0,
        1.08,
        1.22,
        1.0,
        "youthful, quick",
        "Let us do this quickly. I just need your name and the phone number on the account.",
    ),
    (
        "Rachel",
        "slt_hts",
        "F",
        "35",
        1.0,
        1.02,
        1.05,
        1.1,
        "bright, businesslike",
        "I can schedule your appointment for next week. Which day works best for you?",
    ),
    (
        "Diane",
        "slt_hts",
        "F",
        "55",
        -1.0,
        0.97,
        0.9,
        0.85,
        "mature, composed",
        "I will review your claim with you and explain what happens next.",
    ),
    (
        "Megan",
        "slt_hts",
        "F",
        "25",
        4.0,
        1.05,
        1.12,
        1.3,
        "chirpy, upbeat",
        "Thanks so much for reaching out. I can help you find the right product today.",
    ),
    (
        "Callum",
        "awb",
        "M",
        "36",
        0,
        1.0,
        1.0,
        1.0,
        "friendly, grounded",
        "I am calling from the city to help you out. Let us look at your booking together.",
    ),
    (
        "Angus",
        "awb",
        "M",
        "63",
        -2.0,
        0.97,
        0.92,
        0.85,
        "gravelly, wise",
        "I have been doing this a long time. We will have your problem fixed today.",
    ),
    (
        "Fraser",
        "awb",
        "M",
        "27",
        1.0,
        1.02,
        1.0,
        1.1,
        "breezy, enthusiastic",
        "Let us get you sorted. I can move your booking to another day if you like.",
    ),
    (
        "Ewan",
        "awb",
        "M",
        "44",
        -1,
        1.0,
        0.95,
        0.9,
        "dependable, warm",
        "I will explain everything clearly and make sure you know what to expect.",
    ),
    (
        "Alasdair",
        "awb",
        "M",
        "50",
        -4,
        0.95,
        0.95,
        1.1,
        "deep, storytelling",
        "I am glad you got in touch. Let me tell you about the options we have.",
    ),
    (
        "Lachlan",
        "awb",
        "M",
        "31",
        1,
        1.02,
        1.05,
        1.35,
        "animated, cheerful",
        "Tell me what happened and I will find a way to make it right for you.",
    ),
    (
        "Isla",
        "awb",
        "F",
        "29",
        7.0,
        1.1,
        0.95,
        1.0,
        "lilting, friendly",
        "How can I help you today? I can change your room or check the price for you.",
    ),
    (
        "Morag",
        "awb",
        "F",
        "57",
        6,
        1.12,
        0.9,
        0.9,
        "steady, kind",
        "Let us go over your booking. I will read the dates back to you now.",
    ),
    (
        "Eilidh",
        "awb",
        "F",
        "22",
        9,
        1.18,
        1.12,
        1.3,
        "bright, quick",
        "I am here to help. Tell me the name on the order and I will find it for you.",
    ),
    (
        "Robert",
        "joe",
        "M",
        "48",
        -4.0,
        0.93,
        0.95,
        0.95,
        "plain, precise",
        "I will read back your details. Please check that the address is correct.",
    ),
    (
        "Frank",
        "joe",
        "M",
        "61",
        -5.5,
        1.02,
        0.88,
        0.8,
        "dry, unhurried",
        "Please hold while I check. I will be back with you in just a moment.",
    ),
    (
        "Kevin",
        "joe",
        "M",
        "30",
        -5.0,
        1.0,
        1.08,
        1.1,
        "crisp, helpful",
        "I can track your package for you. It left the warehouse this morning.",
    ),
    (
        "Victor",
        "joe",
        "M",
        "39",
        -5.0,
        0.92,
        0.97,
        0.75,
        "firm, formal",
        "I am calling from the security team about a recent change to your account.",
    ),
    (
        "Leo",
        "joe",
        "M",
        "24",
        -4.0,
        1.06,
        1.12,
        0.8,
        "snappy, modern",
        "I have a quick question for you about your order. Do you have a minute?",
    ),
    (
        "Nora",
        "slt_hts",
        "F",
        "41",
        0.5,
        1.03,
        1.02,
        0.8,
        "clear, no-nonsense",
        "I will confirm your reservation for tonight. The table is ready at seven.",
    ),
    (
        "Ruth",
        "slt_hts",
        "F",
        "64",
        -1.0,
        0.93,
        0.86,
        0.9,
        "soft, thoughtful",
        "I am happy to help you today. Let me find the letter we sent you last week.",
    ),
]

#: Base voice → its engine.
_ENGINE = {"joe": "piper", "slt_hts": "festival", "awb": "flite"}
STOCK_VOICES: dict[str, StockVoice] = {}
for _name, _base, _g, _age, _p, _f, _r, _range, _tone, _bio in _TABLE:
    _region = SCOTLAND if _base == "awb" else US
    _id = f"stock_{_name.lower()}_en_{_REGION_CODE[_region]}"
    STOCK_VOICES[_id] = StockVoice(
        _id, _name, _g, _region, _age, _tone, _bio, VoiceSpec(_ENGINE[_base], _base, float(_p), _f, _r, _range)
    )

#: The most natural voice: the neural one closest to the recording it was trained on.
DEFAULT_VOICE_ID = "stock_james_en_us"
#: OpenAI preset names → stock voices of a similar character. The later names get voices of their
#: own (same gender, none shared with the first six), so a client switching presets hears a change.
OPENAI_PRESETS = {
    "alloy": "stock_hannah_en_us",
    "echo": "stock_james_en_us",
    "fable": "stock_callum_en_scotland",
    "onyx": "stock_michael_en_us",
    "nova": "stock_olivia_en_us",
    "shimmer": "stock_lily_en_us",
    "ash": "stock_kevin_en_us",  # male, clear and confident
    "ballad": "stock_alasdair_en_scotland",  # male, melodic storyteller with a British-isles lilt
    "coral": "stock_chloe_en_us",  # female, warm and upbeat
    "sage": "stock_grace_en_us",  # female, calm and measured
    "verse": "stock_nathan_en_us",  # male, lively and expressive
    "marin": "stock_sophia_en_us",  # female, natural and professional
    "cedar": "stock_marcus_en_us",  # male, deep and calm
}


def get_stock(voice_id: str) -> StockVoice | None:
    return STOCK_VOICES.get(voice_id)


def list_stock(gender: str | None = None, region: str | None = None) -> list[StockVoice]:
    """Gender: case-insensitive exact; region: case-insensitive substring (also of the id's code)."""
    voices = list(STOCK_VOICES.values())
    if gender:
        voices = [v for v in voices if v.gender.lower() == gender.lower()]
    if region:
        needle = region.lower()
        voices = [v for v in voices if needle in v.region.lower() or needle == _REGION_CODE[v.region]]
    return voices
