"""A Starlette app behind GuardrailsMiddleware: comments (JSON or form) and image uploads.

Run it:

    uvicorn examples.starlette_app:app --port 8000

    curl -s localhost:8000/comments -H 'content-type: application/json' \\
         -d '{"text": "mail me at jane@example.com"}'          # stored as "mail me at [EMAIL]"
    curl -s localhost:8000/comments -d 'text=my key is AKIAIOSFODNN7EXAMPLE'   # 400, secrets
    curl -s localhost:8000/avatar -F 'image=@photo.png'         # images are checked as images
    curl -s localhost:8000/health                               # excluded: never checked

The policy is ``policies/default.yaml`` (rules only) unless ``GUARDRAILS_POLICY`` names another.
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from guardrails.middleware import GuardrailsMiddleware

POLICY = os.environ.get(
    "GUARDRAILS_POLICY", str(Path(__file__).resolve().parents[1] / "policies" / "default.yaml")
)


async def add_comment(request: Request) -> JSONResponse:
    """Store a comment; by now it has been checked (and redacted where the policy says so)."""
    if request.headers.get("content-type", "").startswith("application/json"):
        text = (await request.json())["text"]
    else:
        text = str((await request.form())["text"])
    comments: list[str] = request.app.state.comments
    comments.append(text)
    moderation = request.state.guardrails
    return JSONResponse(
        {"id": len(comments), "text": text, "moderation": moderation.verdict.value}, status_code=201
    )


async def list_comments(request: Request) -> JSONResponse:
    return JSONResponse({"comments": request.app.state.comments})


async def upload_avatar(request: Request) -> JSONResponse:
    """Only images reach this point: anything else was refused with 415 by the middleware."""
    form = await request.form()
    image = form.get("image")
    if not isinstance(image, UploadFile):
        return JSONResponse({"error": "an 'image' file field is required"}, status_code=422)
    size = len(await image.read())
    return JSONResponse({"filename": image.filename, "bytes": size})


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


def create_app(policy: str = POLICY) -> Starlette:
    app = Starlette(
        routes=[
            Route("/comments", add_comment, methods=["POST"]),
            Route("/comments", list_comments, methods=["GET"]),
            Route("/avatar", upload_avatar, methods=["POST"]),
            Route("/health", health),
        ]
    )
    app.state.comments = []
    app.add_middleware(
        GuardrailsMiddleware,
        policy=policy,
        json_paths=["text"],  # where the content is in this app's JSON bodies
        exclude=["/health"],
        max_body_size=2 * 1024 * 1024,
        check_responses=True,  # what the app sends back is checked too
    )
    return app


app = create_app()
