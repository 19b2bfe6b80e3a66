"""The 38 stock voices.

Every voice is one of flite's four intelligible statistical voices (``slt`` US female, ``rms`` and
``kal16`` US male, ``awb`` Scottish male) reshaped by pitch, vocal-tract length (formants),
speaking rate and intonation range. Personas follow the sound: the gender is the one the
pitch and formants produce, older personas are slower and flatter, and only two regions are
claimed — General American and Scottish — because those are the accents the base voices have.
(espeak-ng offers more accents, but pocketsphinx cannot transcribe its formant speech: WER
0.6–0.95 in our measurements, so those voices would fail the intelligibility gate.)
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
    ("Emma", "slt", "F", "31", 0, 1.0, 1.0, 1.0, "clear, friendly", "Hi, I'm Emma. I help customers find answers quickly and kindly."),
    ("Olivia", "slt", "F", "24", 3, 1.06, 1.08, 1.25, "bright, upbeat", "Hey there, I'm Olivia, and I love making your day a little easier."),
    ("Grace", "slt", "F", "58", -2, 0.97, 0.88, 0.8, "calm, measured", "Hello, I'm Grace. Let's take this one step at a time together."),
    ("Chloe", "slt", "F", "19", 5, 1.1, 1.12, 1.35, "youthful, energetic", "Hi, I'm Chloe! Tell me what you need and I'll jump right on it."),
    ("Hannah", "slt", "F", "36", 1, 1.0, 0.95, 0.9, "warm, patient", "Hello, this is Hannah. I'm here to listen and to help."),
    ("Sophia", "slt", "F", "42", -1, 1.03, 1.0, 1.1, "polished, professional", "Good afternoon, I'm Sophia, and I'll walk you through your account."),
    ("Ava", "slt", "F", "27", 2, 0.96, 1.15, 1.0, "quick, efficient", "Hi, Ava here. Let's get your order sorted out right away."),
    ("Margaret", "slt", "F", "67", -3, 0.94, 0.82, 0.7, "gentle, reassuring", "Hello dear, I'm Margaret. There is no rush at all."),
    ("Lily", "slt", "F", "29", 4, 1.0, 0.92, 1.4, "expressive, cheerful", "Hi, I'm Lily, and I'm so glad you called today."),
    ("Daniel", "slt", "M", "34", -7, 0.86, 1.0, 0.9, "steady, soft-spoken", "Hi, I'm Daniel. I'll make sure everything is taken care of."),
    ("Ethan", "slt", "M", "23", -6, 0.89, 1.1, 1.1, "light, casual", "Hey, I'm Ethan. What can I help you with today?"),
    ("Owen", "slt", "M", "45", -8, 0.84, 0.92, 0.8, "low, composed", "Hello, I'm Owen, and I handle billing questions every day."),
    ("James", "rms", "M", "40", 0, 1.0, 1.0, 1.0, "confident, direct", "Hello, I'm James. Let's solve this together."),
    ("Michael", "rms", "M", "52", -2, 0.95, 0.9, 0.85, "deep, authoritative", "Good morning, I'm Michael, your account specialist."),
    ("Ryan", "rms", "M", "26", 2, 1.04, 1.12, 1.2, "energetic, friendly", "Hey, I'm Ryan! Let's get you set up in no time."),
    ("Walter", "rms", "M", "70", -3, 0.93, 0.8, 0.7, "slow, grandfatherly", "Hello there, I'm Walter. Take your time, I'm listening."),
    ("Nathan", "rms", "M", "33", 1, 0.97, 1.05, 1.3, "lively, engaging", "Hi, I'm Nathan, and I'm happy to answer your questions."),
    ("Marcus", "rms", "M", "38", -4, 0.92, 1.0, 1.0, "rich, calm", "Hello, this is Marcus. I'll check on that for you now."),
    ("Tyler", "rms", "M", "21", 3, 1.08, 1.18, 1.15, "youthful, quick", "Hey, Tyler here. Let's do this quickly."),
    ("Rachel", "rms", "F", "35", 9, 1.17, 1.0, 1.2, "bright, businesslike", "Hi, I'm Rachel, and I can schedule your appointment."),
    ("Diane", "rms", "F", "55", 7, 1.13, 0.9, 0.9, "mature, composed", "Hello, I'm Diane. I'll review your claim with you."),
    ("Megan", "rms", "F", "25", 10, 1.2, 1.1, 1.3, "chirpy, upbeat", "Hi, I'm Megan! Thanks so much for reaching out."),
    ("Callum", "awb", "M", "36", 0, 1.0, 1.0, 1.0, "friendly, grounded", "Hello, I'm Callum, calling from Glasgow to help you out."),
    ("Angus", "awb", "M", "63", -3, 0.93, 0.85, 0.75, "gravelly, wise", "Good day, I'm Angus. I've been doing this a long time."),
    ("Fraser", "awb", "M", "27", 2, 1.05, 1.12, 1.2, "breezy, enthusiastic", "Hiya, I'm Fraser. Let's get you sorted."),
    ("Ewan", "awb", "M", "44", -1, 0.97, 0.95, 0.9, "dependable, warm", "Hello, Ewan here. I'll explain everything clearly."),
    ("Alasdair", "awb", "M", "50", -4, 0.91, 0.92, 1.1, "deep, storytelling", "Hello, I'm Alasdair, and I'm glad you got in touch."),
    ("Lachlan", "awb", "M", "31", 1, 1.02, 1.05, 1.35, "animated, cheerful", "Hi, I'm Lachlan. Tell me what happened."),
    ("Isla", "awb", "F", "29", 8, 1.15, 1.05, 1.2, "lilting, friendly", "Hello, I'm Isla from Edinburgh. How can I help?"),
    ("Morag", "awb", "F", "57", 6, 1.12, 0.9, 0.9, "steady, kind", "Hello, I'm Morag. Let's go over your booking."),
    ("Eilidh", "awb", "F", "22", 9, 1.18, 1.12, 1.3, "bright, quick", "Hiya, I'm Eilidh, and I'm here to help."),
    ("Robert", "kal16", "M", "48", 0, 1.0, 1.0, 1.0, "plain, precise", "Hello, I'm Robert. I will read back your details."),
    ("Frank", "kal16", "M", "61", -3, 0.94, 0.88, 0.8, "dry, unhurried", "Hello, this is Frank. Please hold while I check."),
    ("Kevin", "kal16", "M", "30", 2, 1.04, 1.1, 1.2, "crisp, helpful", "Hi, I'm Kevin, and I can track your package."),
    ("Victor", "kal16", "M", "39", -2, 0.9, 0.96, 1.0, "firm, formal", "Good evening, I'm Victor, from the security team."),
    ("Leo", "kal16", "M", "24", 4, 1.07, 1.15, 1.1, "snappy, modern", "Hey, I'm Leo. Quick question for you."),
    ("Nora", "kal16", "F", "41", 9, 1.16, 1.0, 1.1, "clear, no-nonsense", "Hello, I'm Nora, and I'll confirm your reservation."),
    ("Ruth", "kal16", "F", "64", 7, 1.12, 0.86, 0.85, "soft, thoughtful", "Hello, I'm Ruth. I'm happy to help you today."),
]

STOCK_VOICES: dict[str, StockVoice] = {}
for _name, _base, _g, _age, _p, _f, _r, _range, _tone, _bio in _TABLE:
    _region = SCOTLAND if _base == "awb" else US
    _id = f"stock_{_name.lower()}_en_{_REGION_CODE[_region]}"
    STOCK_VOICES[_id] = StockVoice(_id, _name, _g, _region, _age, _tone, _bio,
                                   VoiceSpec("flite", _base, float(_p), _f, _r, _range))

DEFAULT_VOICE_ID = "stock_emma_en_us"
#: OpenAI preset names → stock voices of a similar character.
OPENAI_PRESETS = {
    "alloy": "stock_hannah_en_us",
    "echo": "stock_james_en_us",
    "fable": "stock_callum_en_scotland",
    "onyx": "stock_michael_en_us",
    "nova": "stock_olivia_en_us",
    "shimmer": "stock_lily_en_us",
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
