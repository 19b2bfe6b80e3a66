"""The caller's sentiment from lexical cues: counted words, not understanding.

Only the caller's sentences count (an agent is polite whatever happens). Each word or phrase of a
short positive list ("great", "perfect", "helpful", "sounds good") or negative list ("frustrated",
"ridiculous", "waste of time") counts once where said; one negated in its clause ("not happy",
"wasn't helpful") counts for the other side. Politeness ("thanks") counts for nothing. The score is
``(positive - negative) / (positive + negative + 1)``, in (-1, 1); ``positive`` from 0.25 up,
``negative`` from -0.25 down, ``neutral`` between.

What this misses, honestly: sarcasm ("oh great, another bill"), tone of voice, politeness masking
annoyance, domain words ("the charge went through" is good news), and anything not in the lists.
Read it as a hint for triage, not a measurement.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pyai.recap.transcript import CALLER, Sentence, negated

THRESHOLD = 0.25
_POSITIVE = re.compile(
    r"\b(?:great|good(?! (?:morning|afternoon|evening|night|day))|perfect|excellent|awesome|amazing|fantastic"
    r"|wonderful|lovely|nice|helpful|happy|glad|pleased|excited|appreciate|interesting|love|impressed|brilliant"
    r"|interested|sounds good|that works|works for me|makes sense)\b"
)
_NEGATIVE = re.compile(
    r"\b(?:frustrat\w*|annoy\w*|angry|upset|terrible|awful|horrible|bad|worst|ridiculous|unacceptable|"
    r"disappoint\w*|useless|hate|waste of (?:time|money)|fed up|sick of|furious|rude|confusing|"
    r"complain\w*|never again|scam)\b"
)


def sentiment(said: Sequence[Sentence]) -> dict:
    """``{label, score, positive, negative, basis: "lexical"}``: the counts are the cues found."""
    positive = negative = 0
    for s in said:
        if s.speaker != CALLER:
            continue
        for m in _POSITIVE.finditer(s.low):
            if negated(s.low, m.start()):
                negative += 1
            else:
                positive += 1
        for m in _NEGATIVE.finditer(s.low):
            if negated(s.low, m.start()):
                positive += 1
            else:
                negative += 1
    score = round((positive - negative) / (positive + negative + 1), 2)
    label = "positive" if score >= THRESHOLD else "negative" if score <= -THRESHOLD else "neutral"
    return {"label": label, "score": score, "positive": positive, "negative": negative, "basis": "lexical"}
