"""The parts of :class:`guardrails.middleware.GuardrailsMiddleware`, one concept per module.

    settings.py   the options, resolved once into an immutable value
    replies.py    the middleware's own answers (4xx reasons, blocks) and the decision header
    body.py       reading a request body once under a size limit, and replaying it to the app
    media.py      content types, charsets, image magic bytes, data URLs
    jsonpath.py   the path language that says where content is in JSON
    extract.py    which kind of body a request has, and checking its items
    parsed_bodies.py  each kind of body (JSON, content parts, forms, multipart, text): its
                  items to check and how redactions are written back into it
    multipart.py  multipart/form-data parsed strictly from the buffered body
    exchange.py   one request/response exchange: the per-request responder
    response.py   the response side: buffered JSON/text checks and streamed checks
    streaming.py  the sliding window that checks streamed units before they are released
    sse.py        server-sent events as units whose text can be checked and rewritten

Everything here is per request or immutable; nothing is kept on the middleware between calls.
"""
