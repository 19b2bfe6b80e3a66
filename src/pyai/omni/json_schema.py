"""JSON Schema checks for what customers declare (tool inputs, extraction fields, tool settings).

A schema is checked when it is registered, so a broken one is a 400 naming the field rather than
a failure in the middle of a call. Draft 2020-12, as the OpenAPI 3.1 contract uses. ``$ref`` to
anything outside the schema is never fetched (``jsonschema`` resolves only local references
unless given a retriever), so a schema cannot make the server reach a URL.
"""

from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from pyai.gateway.errors import bad_request

#: A schema travels in every model request that offers its tool; past this it only costs tokens.
MAX_SCHEMA_BYTES = 64 * 1024


def check_object_schema(schema: dict[str, Any], param: str) -> None:
    """400 naming ``param`` unless ``schema`` is a valid JSON Schema describing a JSON object."""
    if len(json.dumps(schema)) > MAX_SCHEMA_BYTES:
        raise bad_request(f"{param}: the schema is larger than {MAX_SCHEMA_BYTES} bytes.", param=param)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as e:
        where = "/".join(str(p) for p in e.path)
        raise bad_request(
            f"{param}: not a valid JSON Schema{f' at {where}' if where else ''}: {e.message}", param=param
        ) from None
    if schema.get("type") != "object":
        raise bad_request(f'{param}: must describe a JSON object ("type": "object").', param=param)


def first_error(
    schema: dict[str, Any], instance: Any, name: str, *, quote_values: bool = True
) -> tuple[str, str] | None:
    """``(where, message)`` of the first way ``instance`` breaks ``schema``, ``where`` being ``name``
    followed by the dotted path inside it; None when it conforms. The shallowest error comes first:
    it is the one a caller fixes first. The validator's messages quote the offending value; without
    ``quote_values`` the message names the broken rule instead, for text that is kept (a call log
    must not hold a call's arguments)."""
    errors = sorted(
        Draft202012Validator(schema).iter_errors(instance), key=lambda e: (len(e.path), [str(p) for p in e.path])
    )
    if not errors:
        return None
    error = errors[0]
    where = ".".join([name, *(str(p) for p in error.path)])
    if quote_values or error.validator == "required":  # "'x' is a required property" quotes the schema
        return where, error.message
    rule = json.dumps(error.validator_value)
    return where, f"breaks the schema's {error.validator} rule ({rule[:200]})"
