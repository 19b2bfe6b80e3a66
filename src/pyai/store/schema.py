"""Imports every module that declares tables, so Alembic and ``create_all`` see the whole schema."""

from pyai.knowledge import models as knowledge_models  # noqa: F401
from pyai.store import models, omni_models, recap_models, telephony_models, trace_models, voice_models  # noqa: F401
from pyai.store.models import Base

metadata = Base.metadata
