"""The service's endpoints: moderate, classify, health and metrics, over one live engine.

A body is read under ``max_body`` bytes and ``body_timeout`` seconds, uncompressed; the items
are checked concurrently and each one is metered and audited on its own.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from starlette.formparsers import MultiPartParser
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from guardrails.asgi.body import read_body
from guardrails.asgi.replies import Rejection
from guardrails.audit import AuditLog, Masker, full_masker
from guardrails.decision import Decision, Verdict
from guardrails.engine import Engine
from guardrails.errors import GuardrailsError, InputError
from guardrails.reload import LiveEngine
from guardrails.server.answers import _answer, _openai_result, _shadowed
from guardrails.server.requests import (
    MAX_ITEMS,
    _BadRequest,
    _boundary,
    _error,
    _items_from_json,
    _upload,
)

logger = logging.getLogger("guardrails.server")


_MULTIPART_OPTIONS = frozenset({"direction", "prompt", "model", "top_k"})


class _Service:
    def __init__(
        self,
        live: LiveEngine,
        audit: AuditLog | None,
        metrics: Any,
        shadow: bool,
        max_body: int,
        classifiers: Any,
        body_timeout: float,
    ) -> None:
        self.live, self.audit, self.metrics = live, audit, metrics
        self.shadow, self.max_body, self.classifiers = shadow, max_body, classifiers
        self.body_timeout = body_timeout
        self._masker: tuple[Engine, Masker] | None = None  # for the current engine

    def masker(self, engine: Engine) -> Masker:
        """How the audit log masks content checked by ``engine`` (built once per engine)."""
        if self._masker is None or self._masker[0] is not engine:
            self._masker = (engine, full_masker(engine))
        return self._masker[1]

    async def body(self, request: Request) -> bytes:
        """The body, read under the size and time limits (the middleware's own reader)."""
        encoding = request.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("identity", ""):
            raise _BadRequest(
                415, "unsupported_content_encoding", "send the body uncompressed (identity)"
            )
        try:
            return await read_body(
                request.receive,
                request.headers.get("content-length"),
                self.max_body,
                timeout=self.body_timeout,
            )
        except Rejection as exc:
            error = "too_large" if exc.status == 413 else exc.error
            raise _BadRequest(exc.status, error, exc.detail) from None

    async def parse(
        self, request: Request, pairs: bool = False
    ) -> tuple[list[Any], dict[str, Any]]:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype == "multipart/form-data":
            return await self.parse_multipart(request)
        if ctype not in ("application/json", ""):
            raise _BadRequest(415, "unsupported_media_type", "send application/json or multipart")
        try:
            body = json.loads(await self.body(request))
        except RecursionError:
            raise _BadRequest(400, "invalid_json", "nested too deeply") from None
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, a 5,000-digit number
            raise _BadRequest(400, "invalid_json", str(exc)[:200]) from None
        return _items_from_json(body, pairs), body if isinstance(body, dict) else {}

    async def parse_multipart(self, request: Request) -> tuple[list[Any], dict[str, Any]]:
        body = await self.body(request)  # read within the size limit, then parsed from memory
        boundary = _boundary(request.headers.get("content-type", ""))
        if not boundary or not body.rstrip().endswith(b"--" + boundary + b"--"):
            # The parser would silently drop a truncated last part: refuse the request.
            raise _BadRequest(400, "invalid_multipart", "truncated multipart body")

        async def replay() -> AsyncIterator[bytes]:
            yield body

        parser = MultiPartParser(
            request.headers, replay(), max_files=MAX_ITEMS, max_fields=MAX_ITEMS
        )
        try:
            form = await parser.parse()
        except Exception as exc:  # the multipart parser's errors are not one type
            raise _BadRequest(400, "invalid_multipart", str(exc)[:200]) from None
        items: list[Any] = []
        options: dict[str, Any] = {}
        for key, value in form.multi_items():
            if isinstance(value, str):
                if key == "input":
                    items.append(value)
                elif key in _MULTIPART_OPTIONS:
                    options[key] = value
                else:  # text sent under another name would otherwise go unchecked
                    raise _BadRequest(
                        400,
                        "invalid_request",
                        f"unknown field {key[:50]!r}: send text as 'input' fields "
                        f"(options: {', '.join(sorted(_MULTIPART_OPTIONS))})",
                    )
            else:
                items.append(_upload(await value.read(), value.content_type, key))
        if not items:
            raise _BadRequest(400, "invalid_request", "no 'input' field and no file to check")
        return items, options

    async def moderate(self, request: Request) -> Response:
        items, options = await self.parse(request)
        if len(items) > MAX_ITEMS:
            raise _BadRequest(400, "too_many_items", f"at most {MAX_ITEMS} items per request")
        direction = options.get("direction", "input")
        if direction not in ("input", "output"):
            raise _BadRequest(400, "invalid_request", "direction is 'input' or 'output'")
        prompt = options.get("prompt")
        if not isinstance(prompt, str | None):
            raise _BadRequest(400, "invalid_request", "'prompt' is a string")
        engine = self.live.engine
        try:
            results = await asyncio.gather(
                *(self.moderate_one(engine, item, direction, prompt) for item in items)
            )
        except Exception as exc:  # the engine applies each step's on_error; this is anything else
            logger.error("moderation failed (%s): answering 503", type(exc).__name__)
            raise _BadRequest(
                503, "moderation_unavailable", "the content could not be checked"
            ) from None
        if self.shadow:  # report what would have happened, enforce nothing
            results = [
                (_shadowed(d), ms) if isinstance(d, Decision) else (d, ms) for d, ms in results
            ]
        if request.query_params.get("format", options.get("format")) == "openai":
            return JSONResponse(
                {
                    "id": f"modr-{uuid.uuid4().hex}",
                    "model": engine.policy.name,
                    "results": [
                        _openai_result(d) if isinstance(d, Decision) else {"error": str(d)}
                        for d, _ in results
                    ],
                }
            )
        answers = []
        worst = Verdict.ALLOW
        for index, (decision, latency) in enumerate(results):
            if isinstance(decision, Decision):
                worst = max(worst, decision.verdict)
                answer = {"index": index, "status": "ok", **_answer(decision)}
                answer["latency_ms"] = round(latency, 3)
            else:
                answer = {"index": index, "status": "error", "error": str(decision)}
            answers.append(answer)
        return JSONResponse(
            {
                "policy": engine.policy.name,
                "policy_sha256": engine.policy.digest,
                "verdict": worst.value,
                "shadow": self.shadow,
                "results": answers,
            }
        )

    async def moderate_one(
        self, engine: Engine, item: Any, direction: str, prompt: str | None
    ) -> tuple[Decision | GuardrailsError, float]:
        if isinstance(item, InputError):
            return item, 0.0
        started = time.perf_counter()
        try:
            decision = await engine.acheck(item, direction=direction, prompt=prompt)
        except InputError as exc:
            return exc, 0.0
        elapsed = time.perf_counter() - started
        if self.metrics is not None:
            self.metrics.observe(decision, elapsed, shadow=self.shadow)
        if self.audit is not None:
            log_content = engine.policy.audit.log_content
            self.audit.record(
                decision,
                content=item,
                log_content=log_content,
                mask=self.masker(engine) if log_content else None,
                route="/v1/moderate",
                policy_digest=engine.policy.digest,
                elapsed_ms=elapsed * 1000,
                shadow=self.shadow,
            )
        return decision, elapsed * 1000

    async def classify(self, request: Request) -> Response:
        items, body = await self.parse(request, pairs=True)
        name = body.get("model")
        if self.classifiers is None or not isinstance(name, str) or name not in self.classifiers:
            known = self.classifiers.ids() if self.classifiers is not None else []
            raise _BadRequest(404, "unknown_model", f"no classifier {name!r}; known: {known}")
        top_k = body.get("top_k", 1)
        if not isinstance(top_k, int) or not 1 <= top_k <= 100:
            raise _BadRequest(400, "invalid_request", "top_k is an integer from 1 to 100")
        if any(isinstance(item, InputError) for item in items):
            raise _BadRequest(400, "invalid_image", "an image could not be decoded")
        if any(isinstance(item, tuple) for item in items) and not getattr(
            self.classifiers.get(name), "accepts_pairs", False
        ):
            raise _BadRequest(400, "invalid_request", f"classifier {name!r} takes single inputs")
        try:
            predictions = await asyncio.to_thread(self.classifiers.predict, name, items, top_k)
        except InputError as exc:
            raise _BadRequest(400, "invalid_input", str(exc)) from None
        except Exception as exc:  # a model that fails is the service's fault, not the client's
            logger.error("classifier %r failed: %s", name, type(exc).__name__)
            raise _BadRequest(
                503, "classifier_unavailable", f"classifier {name!r} failed to answer"
            ) from None
        return JSONResponse(
            {
                "model": name,
                "results": [
                    {
                        "labels": [
                            {"label": s.label, "probability": round(s.probability, 6)}
                            for s in p.labels
                        ],
                        **({"evidence": list(p.evidence)} if p.evidence else {}),
                    }
                    for p in predictions
                ],
            }
        )

    async def healthz(self, request: Request) -> Response:
        engine = self.live.engine
        return JSONResponse(
            {
                "status": "ok",
                "policy": engine.policy.name,
                "policy_sha256": engine.policy.digest,
                "steps": list(engine.step_ids),
                "generation": self.live.generation,
                "last_reload_error": self.live.last_error,
            }
        )

    async def metrics_endpoint(self, request: Request) -> Response:
        if self.metrics is None:
            return _error(404, "not_found", "metrics are off")
        payload, content_type = self.metrics.exposition()
        return Response(payload, media_type=content_type)
