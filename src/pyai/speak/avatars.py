"""Voice-matched avatar portraits (PNG), drawn with Pillow from the persona.

A stylised bust: hair length by gender, grey hair for personas 55+, a tartan band behind the
Scottish voices, skin tone and colours picked deterministically from the voice id, the name's
initial on the shirt. The same voice always gets the same picture.
"""

from __future__ import annotations

import hashlib
import io

from PIL import Image, ImageDraw, ImageFont

SIZE = 256
SKIN = [(255, 224, 196), (241, 194, 155), (224, 172, 128), (198, 134, 90), (141, 85, 54), (96, 60, 38)]
HAIR = [(44, 34, 28), (92, 60, 36), (160, 110, 60), (214, 180, 110), (120, 40, 30)]
BACKGROUND = [(93, 135, 201), (120, 176, 160), (222, 160, 110), (170, 130, 200), (230, 200, 120), (110, 170, 210)]
SHIRT = [(50, 70, 120), (150, 60, 70), (60, 120, 90), (200, 140, 60), (90, 90, 100), (130, 80, 150)]


def _pick(palette: list, seed: bytes, i: int) -> tuple[int, int, int]:
    return palette[seed[i] % len(palette)]


def render_avatar(voice) -> bytes:  # noqa: ANN001 - StockVoice
    seed = hashlib.sha256(voice.voice_id.encode()).digest()
    img = Image.new("RGB", (SIZE, SIZE), _pick(BACKGROUND, seed, 0))
    d = ImageDraw.Draw(img)
    if "Scotland" in voice.region:  # a tartan band
        for x in range(0, SIZE, 24):
            d.rectangle([x, 0, x + 8, SIZE], fill=(40, 90, 60))
        for y in range(0, SIZE, 32):
            d.rectangle([0, y, SIZE, y + 6], fill=(150, 40, 40))
    older = voice.age.isdigit() and int(voice.age) >= 55
    hair = (200, 200, 205) if older else _pick(HAIR, seed, 1)
    skin = _pick(SKIN, seed, 2)
    shirt = _pick(SHIRT, seed, 3)
    cx = SIZE // 2
    if voice.gender == "F":  # long hair falls behind the shoulders
        d.rounded_rectangle([cx - 70, 60, cx + 70, 210], radius=60, fill=hair)
    d.rounded_rectangle([cx - 95, 185, cx + 95, 300], radius=60, fill=shirt)  # shoulders
    d.rectangle([cx - 18, 150, cx + 18, 195], fill=skin)  # neck
    d.ellipse([cx - 55, 55, cx + 55, 175], fill=skin)  # face
    if voice.gender == "F":
        d.chord([cx - 60, 45, cx + 60, 135], 180, 360, fill=hair)
    else:
        d.chord([cx - 57, 48, cx + 57, 118], 180, 360, fill=hair)
        if older:
            d.rectangle([cx - 30, 148, cx + 30, 156], fill=(215, 215, 220))  # a grey moustache
    eye_y = 110
    for dx in (-22, 22):
        d.ellipse([cx + dx - 6, eye_y - 6, cx + dx + 6, eye_y + 6], fill=(255, 255, 255))
        d.ellipse([cx + dx - 3, eye_y - 3, cx + dx + 3, eye_y + 3], fill=(40, 40, 50))
    d.arc([cx - 22, 118, cx + 22, 150], 20, 160, fill=(150, 60, 60), width=3)  # smile
    font = ImageFont.load_default(size=40)
    d.text((cx, 232), voice.name[0], fill=(255, 255, 255), font=font, anchor="mm")
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()
