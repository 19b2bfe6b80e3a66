"""The prebuilt catalog meets the rules custom tools are held to, so binding one never fails on
PyAI's own schema."""

from __future__ import annotations

import pytest

from pyai.omni.json_schema import check_object_schema
from pyai.omni.prebuilt_tools import PREBUILT, prebuilt
from pyai.omni.tool_config import ConfigSchema


@pytest.mark.parametrize("tool", PREBUILT, ids=lambda t: t.name)
def test_schemas_are_valid(tool) -> None:  # noqa: ANN001
    check_object_schema(tool.input_schema, "input_schema")
    ConfigSchema.model_validate(tool.config_schema)
    assert prebuilt(tool.id) is tool and tool.execution in ("engine", "hosted")
