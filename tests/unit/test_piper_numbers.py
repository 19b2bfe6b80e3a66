"""How the Piper engine hands spoken numbers and spelled characters to the voice (engines/tts/piper.py):
pure text and phoneme rewrites, no model needed."""

from __future__ import annotations

from pyai.engines.tts.piper import _LONE_CHARACTER, _NUMBER_HYPHEN, number_phonemes


def test_number_hyphens_become_spaces_and_other_hyphens_stay() -> None:
    text = "Eighty-nine dollars, the twenty-first, thirty-four, a well-known forty-something"
    assert _NUMBER_HYPHEN.sub(r"\1 ", text) == (
        "Eighty nine dollars, the twenty first, thirty four, a well-known forty-something"
    )


def test_teen_numbers_get_a_stress_on_the_teen() -> None:
    # as espeak-ng 1.51 (en-us) writes them: the first syllable stressed only, like "forty"
    assert number_phonemes("mˈɑːɹtʃ fˈoːɹtiːnθ.") == "mˈɑːɹtʃ fˈoːɹtˈiːnθ."
    assert number_phonemes("θˈɜːtiːn sˈɛvəntˌiːn ˈeɪtiːnθs nˈaɪntiːn") == (
        "θˈɜːtˈiːn sˈɛvəntˈiːn ˈeɪtˈiːnθs nˈaɪntˈiːn"
    )
    # not a -teen number: untouched
    assert number_phonemes("fˈɔːɹɾi pɹˈoʊtiːn kæntˈiːn") == "fˈɔːɹɾi pɹˈoʊtiːn kæntˈiːn"


def test_only_a_lone_spelled_character_gets_the_lead_pause() -> None:
    for text in ("B;", "four;", "nine.", " Q ", "x"):
        assert _LONE_CHARACTER.fullmatch(text), text
    for text in ("Hello.", "Thanks!", "Your code is A;", "fourteen;", "four one five;"):
        assert not _LONE_CHARACTER.fullmatch(text), text
