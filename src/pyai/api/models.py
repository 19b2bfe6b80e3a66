"""``GET /v1/models``: the model catalog, each model naming the engine that really serves it (any active key)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from pyai.engines.catalog import model_catalog
from pyai.hear.engine import partial_workers, stt_engine
from pyai.omni.brains import describe_brain

router = APIRouter(tags=["Models"])


@router.get("/v1/models", operation_id="listModels", summary="List available models")
async def list_models(request: Request) -> dict:
    """The catalog is fixed for the life of the process (engines are chosen at start), so it is
    built once: reading package versions costs more than the rest of the request."""
    services = request.app.state.services
    catalog = services.singleton(
        "model_catalog",
        lambda: model_catalog(
            stt_engine(services), partial_workers(services).describe(), describe_brain(services.settings)
        ),
    )
    return {"object": "list", "data": catalog}
