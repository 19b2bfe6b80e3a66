"""A tool's ``config_schema`` (the settings a customer fills in per agent) and the values bound to it.

The contract declares settings as a form (``fields`` of ``string``/``number``/``boolean``/``select``,
some ``required``, some ``secret``). A form is turned into a JSON Schema once and values are
checked with ``jsonschema``, so the rules have one implementation. Secret values are sealed at rest
and read back as ``MASK``; sending the mask back (or leaving the key out) keeps the stored value,
so a client can round-trip what it read without knowing the secret.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, model_validator

from pyai.closed_model import ClosedModel
from pyai.gateway.errors import bad_request
from pyai.omni.json_schema import first_error
from pyai.store.sealed import SecretBox

MASK = "********"
MAX_FIELDS = 50
MAX_VALUE_CHARS = 4096

Text = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class ConfigField(ClosedModel):
    """One setting: a ``ToolConfigField`` of the contract, plus ``pattern`` (extension) for strings."""

    key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
    label: Text
    type: Literal["string", "number", "boolean", "select"]
    required: bool = False
    secret: bool = False
    help: str | None = Field(default=None, max_length=1000)
    placeholder: str | None = Field(default=None, max_length=200)
    options: list[Text] | None = Field(default=None, min_length=1, max_length=100)
    pattern: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _consistent(self) -> ConfigField:
        if (self.type == "select") != (self.options is not None):
            raise ValueError("options are required with type 'select' and only allowed with it")
        if self.type != "string" and (self.secret or self.pattern is not None):
            raise ValueError("secret and pattern apply to type 'string' only")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as e:
                raise ValueError(f"pattern is not a regular expression: {e}") from None
        return self


class ConfigSchema(ClosedModel):
    """A contract ``ToolConfigSchema``."""

    fields: list[ConfigField] = Field(default_factory=list, max_length=MAX_FIELDS)

    @model_validator(mode="after")
    def _unique_keys(self) -> ConfigSchema:
        keys = [f.key for f in self.fields]
        if dupes := sorted({k for k in keys if keys.count(k) > 1}):
            raise ValueError(f"field keys must be unique; repeated: {', '.join(dupes)}")
        return self

    def dump(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


def _value_schema(field: dict[str, Any]) -> dict[str, Any]:
    if field["type"] == "select":
        return {"enum": field["options"]}
    if field["type"] == "string":
        string = {"type": "string", "maxLength": MAX_VALUE_CHARS}
        return {**string, "pattern": field["pattern"]} if "pattern" in field else string
    return {"type": field["type"]}


def as_json_schema(schema: dict[str, Any], kept: set[str]) -> dict[str, Any]:
    """The JSON Schema values must meet; ``kept`` secret keys already hold a value, so they are not
    required again."""
    fields = schema.get("fields", [])
    return {
        "type": "object",
        "properties": {f["key"]: _value_schema(f) for f in fields},
        "required": [f["key"] for f in fields if f.get("required") and f["key"] not in kept],
        "additionalProperties": False,
    }


def bind_config(
    schema: dict[str, Any], config: dict[str, Any], previous_secrets: dict[str, str], box: SecretBox, param: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """Check ``config`` against ``schema``; returns ``(plain values, sealed secret values)`` to store.

    A secret given as ``MASK`` or left out keeps its previous sealed value; a secret that is not in
    the schema any more is dropped. Errors are 400s naming ``param.<key>``.
    """
    secret_keys = {f["key"] for f in schema.get("fields", []) if f.get("secret")}
    kept = {k: v for k, v in previous_secrets.items() if k in secret_keys and config.get(k, MASK) == MASK}
    given = {k: v for k, v in config.items() if k not in kept}
    if unset := sorted(k for k in secret_keys if given.get(k) == MASK):
        where = f"{param}.{unset[0]}"
        raise bad_request(f"{where}: there is no stored value to keep; send the secret itself.", param=where)
    if problem := first_error(as_json_schema(schema, set(kept)), given, param):
        where, message = problem
        if where.removeprefix(f"{param}.") in secret_keys:  # the validator's message quotes the value
            message = "not a valid value for this field (the value is secret, so it is not repeated here)"
        raise bad_request(f"{where}: {message}", param=where)
    sealed = {**kept, **{k: box.seal(v) for k, v in given.items() if k in secret_keys}}
    return {k: v for k, v in given.items() if k not in secret_keys}, sealed


def masked(plain: dict[str, Any], sealed: dict[str, str]) -> dict[str, Any]:
    """Binding settings as the API shows them: secrets as ``MASK``."""
    return {**plain, **dict.fromkeys(sealed, MASK)}
