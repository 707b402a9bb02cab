"""The standalone moderation service (a Starlette app; ``guardrails serve`` runs it on uvicorn).

    POST /v1/moderate   text, lists of texts, images (base64, data URLs or multipart uploads);
                        one result per item, or the OpenAI moderation shape with ?format=openai
    POST /v1/classify   one registered classifier: strings, lists, or [text, text] pairs
    GET  /healthz       policy name, digest, reload generation and last reload error
    GET  /metrics       Prometheus exposition

Bad requests get a 4xx with ``{"error": ..., "detail": ...}``, never a 500; a per-item problem
(an image that is not an image) is that item's ``status: error``, the other items still answer.
The body is read under ``max_body`` bytes and ``body_timeout`` seconds (413, 408); a
``Content-Encoding`` other than identity is refused (415), so no compressed bomb is inflated.
Answers never echo the content: a blocked item carries no ``redacted_text`` (the text with only
its redact spans replaced would still hold what blocked it), and a bad item is named by index.

One concept per module:

    requests.py   request bodies (JSON items, pairs, base64 images, uploads) turned into items
    answers.py    the answer shapes: the service's own, OpenAI moderation, shadow mode
    service.py    the endpoints, and the limits the body is read under
    app.py        the Starlette app: routes, error handling, the policy watcher's lifespan
"""

from __future__ import annotations

from guardrails.server.app import create_app

__all__ = ["create_app"]
