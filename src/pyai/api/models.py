"""``GET /v1/models``: the model catalog, each model naming the engine that really serves it (any active key)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from pyai.engines.catalog import model_catalog

router = APIRouter(tags=["Models"])


@router.get("/v1/models", operation_id="listModels", summary="List available models")
async def list_models(request: Request) -> dict:
    return {"object": "list", "data": model_catalog(request.app.state.services.settings)}
