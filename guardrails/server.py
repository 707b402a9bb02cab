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
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import json
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartParser
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from guardrails.asgi.body import ClientGone, read_body
from guardrails.asgi.media import decode_text, is_json_type, parse_content_type, require_image
from guardrails.asgi.replies import Rejection
from guardrails.audit import AuditLog, Masker, full_masker
from guardrails.decision import Action, Decision, Verdict
from guardrails.engine import Engine
from guardrails.errors import GuardrailsError, InputError
from guardrails.reload import LiveEngine

__all__ = ["create_app"]

MAX_ITEMS = 256

logger = logging.getLogger("guardrails.server")


class _BadRequest(Exception):
    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.error, self.detail = status, error, detail


def _error(status: int, error: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status)


def _image_bytes(value: str) -> bytes:
    """Decode a base64 string or a ``data:image/...;base64,`` URL."""
    if value.startswith("data:"):
        header, _, value = value.partition(",")
        if ";base64" not in header or not header[5:].startswith("image/"):
            raise InputError("an image data URL must be data:image/...;base64,...")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InputError(f"invalid base64 image: {exc}") from None


def _checked_image(data: bytes, where: str) -> bytes | InputError:
    """``data`` if it is an image that can be decoded safely, else why not (as an item error)."""
    try:
        return require_image(data, where)
    except Rejection as exc:
        return InputError(exc.detail)


def _items_from_json(body: Any, pairs: bool = False) -> list[Any]:
    if not isinstance(body, dict):
        raise _BadRequest(400, "invalid_request", "the body is a JSON object with 'input'")
    raw = body.get("input")
    raw = [raw] if isinstance(raw, str | dict) else raw
    if raw is None and "images" not in body:
        raise _BadRequest(400, "invalid_request", "'input' (text, list, parts) is required")
    if not isinstance(raw, list | None):
        raise _BadRequest(400, "invalid_request", "'input' is a string, a part or a list")
    images = body.get("images")
    if not isinstance(images, list | None):
        raise _BadRequest(400, "invalid_request", "'images' is a list of base64 strings")
    items: list[str | bytes | tuple[str, str] | InputError] = []
    for index, part in enumerate(raw or []):
        if isinstance(part, str):
            items.append(part)
        elif (
            pairs
            and isinstance(part, list)
            and len(part) == 2
            and all(isinstance(p, str) for p in part)
        ):
            items.append((part[0], part[1]))
        elif isinstance(part, dict) and part.get("type") == "text":
            text = part.get("text", "")
            if not isinstance(text, str):
                raise _BadRequest(400, "invalid_request", f"input[{index}]: 'text' is a string")
            items.append(text)
        elif isinstance(part, dict) and part.get("type") == "image_url":
            url = part.get("image_url")
            url = url.get("url") if isinstance(url, dict) else url
            items.append(_decode_or_error(url, f"input[{index}]"))
        else:  # named by position and type: an answer never echoes the content
            kind = f"an object of type {part.get('type')!r}" if isinstance(part, dict) else None
            kind = kind or f"a JSON {_json_type(part)}"
            raise _BadRequest(400, "invalid_request", f"input[{index}]: unsupported item ({kind})")
    for index, image in enumerate(images or []):
        items.append(_decode_or_error(image, f"images[{index}]"))
    return items


def _json_type(value: Any) -> str:
    names = {bool: "boolean", int: "number", float: "number", list: "array", dict: "object"}
    return "null" if value is None else names.get(type(value), "string")


def _decode_or_error(value: Any, where: str) -> bytes | InputError:
    if not isinstance(value, str):
        return InputError("an image is a base64 string or data URL")
    try:
        return _checked_image(_image_bytes(value), where)
    except InputError as exc:
        return exc


def _boundary(content_type: str) -> bytes | None:
    for param in content_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.lower() == "boundary" and value:
            return value.strip('"').encode("latin-1")
    return None


def _upload(data: bytes, content_type: str | None, name: str) -> str | bytes | InputError:
    """An uploaded file as an item: an image as bytes, a text file as text, else an error."""
    where = f"upload {name!r}"
    mime, params = parse_content_type(content_type)
    if not mime.startswith("image/") and (mime.startswith("text/") or is_json_type(mime)):
        try:
            return decode_text(data, params.get("charset"))
        except Rejection as exc:
            return InputError(f"{where}: {exc.detail}")
    return _checked_image(data, where)


def _openai_result(decision: Decision) -> dict[str, Any]:
    scores: dict[str, float] = {}
    for labels in decision.scores.values():
        for label, p in labels.items():
            scores[label] = max(scores.get(label, 0.0), float(p))
    flagged_labels = {f.label for f in decision.findings if f.verdict is not Verdict.ALLOW}
    for finding in decision.findings:
        scores[finding.label] = max(scores.get(finding.label, 0.0), finding.score)
    return {
        "flagged": not decision.allowed,
        "categories": {label: label in flagged_labels for label in scores},
        "category_scores": {label: round(p, 6) for label, p in scores.items()},
    }


def _answer(decision: Decision) -> dict[str, Any]:
    """A decision as the service reports it. A blocked item has no ``redacted_text``: only its
    redact spans are replaced there, so it would still hold what blocked it (a secret)."""
    answer = decision.to_dict()
    if decision.verdict is Verdict.BLOCK:
        answer.pop("redacted_text", None)
    return answer


def _shadowed(decision: Decision) -> Decision:
    """The decision as shadow mode reports it: allowed, findings kept as log entries."""
    return dataclasses.replace(
        decision,
        verdict=Verdict.ALLOW,
        findings=tuple(dataclasses.replace(f, action=Action.LOG) for f in decision.findings),
        redacted_text=None,
    )


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
                else:
                    options[key] = value
            else:
                items.append(_upload(await value.read(), value.content_type, key))
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


def _handler(service: _Service, method: Any) -> Any:
    async def endpoint(request: Request) -> Response:
        try:
            response = await method(request)
        except _BadRequest as exc:
            response = _error(exc.status, exc.error, exc.detail)
        except (ClientGone, ClientDisconnect):  # nobody to answer; not a server error
            response = _error(400, "client_disconnected", "the body ended early")
        if service.metrics is not None:
            service.metrics.requests.labels(request.url.path, str(response.status_code)).inc()
        return response

    return endpoint


def create_app(
    policy: str | os.PathLike[str] | Engine | LiveEngine,
    *,
    audit: AuditLog | str | os.PathLike[str] | None = None,
    metrics: Any = True,
    shadow: bool = False,
    watch: bool = False,
    sighup: bool = False,
    max_body: int = 8 << 20,
    body_timeout: float = 60.0,
    classifiers: Any = None,
) -> Starlette:
    """Build the service. ``metrics=True`` makes a private :class:`~guardrails.metrics.Metrics`;
    ``watch`` reloads the policy when its files change, ``sighup`` on SIGHUP; ``max_body`` bytes
    (413) must arrive within ``body_timeout`` seconds (408); ``classifiers`` is a
    :class:`~guardrails.registry.ClassifierRegistry` for /v1/classify (default: from the
    ``GUARDRAILS_CLASSIFIERS`` environment variable)."""
    live = policy if isinstance(policy, LiveEngine) else LiveEngine(policy)
    if metrics is True:
        from guardrails.metrics import Metrics

        metrics = Metrics()
    if audit is not None and not isinstance(audit, AuditLog):
        audit = AuditLog(audit)
    if classifiers is None and os.environ.get("GUARDRAILS_CLASSIFIERS"):
        from guardrails.registry import registry_from_env

        classifiers = registry_from_env()
    service = _Service(live, audit, metrics or None, shadow, max_body, classifiers, body_timeout)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = asyncio.create_task(live.watch(stop)) if watch else None
        if sighup:
            live.install_sighup(asyncio.get_running_loop())
        try:
            yield
        finally:
            stop.set()
            if task is not None:
                await asyncio.gather(task, return_exceptions=True)
            if isinstance(audit, AuditLog):
                audit.close()

    routes = [
        Route("/v1/moderate", _handler(service, service.moderate), methods=["POST"]),
        Route("/v1/classify", _handler(service, service.classify), methods=["POST"]),
        Route("/healthz", _handler(service, service.healthz), methods=["GET"]),
        Route("/metrics", _handler(service, service.metrics_endpoint), methods=["GET"]),
    ]

    async def http_error(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        detail = getattr(exc, "detail", "") if status < 500 else "internal error"
        return _error(status, "http_error" if status < 500 else "internal_error", str(detail))

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error, Exception: http_error},
    )
    app.state.guardrails = service
    return app
