"""End of turn: the smart-turn model and the eagerness policy that turns its answer into a wait."""

from pyai.engines.turn.policy import EAGERNESS_LEVELS, TurnPolicy, transcript_continues
from pyai.engines.turn.smart_turn import turn_probability

__all__ = ["EAGERNESS_LEVELS", "TurnPolicy", "transcript_continues", "turn_probability"]
