"""The baseline for bench/gateway.py: the smallest FastAPI app, served the way ``pyai serve`` serves.

One route returning a small JSON object, no middleware, no auth: what FastAPI + uvicorn cost on
this machine, so the gateway's own overhead can be read off as a ratio in the same run.
Usage: ``python bench/minimal_app.py PORT``.
"""

from __future__ import annotations

import sys

import uvicorn
from fastapi import FastAPI

app = FastAPI()


@app.get("/v1/me")
async def me() -> dict:
    return {"object": "identity", "key_id": "key_x", "org_id": "org_x", "scopes": ["*"], "plan": "payg"}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False,
                loop="uvloop", http="httptools")  # fmt: skip
