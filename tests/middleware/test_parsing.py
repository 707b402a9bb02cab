"""The parsers under the middleware: JSON paths, content types, data URLs, multipart."""

from __future__ import annotations

import pytest

from guardrails.asgi.jsonpath import compile_path, format_path, resolve, set_at
from guardrails.asgi.media import parse_content_type, parse_data_url, sniff_image
from guardrails.asgi.multipart import parse_multipart, splice
from guardrails.asgi.replies import Rejection

DOC = {"messages": [{"content": "a"}, {"content": ["b", {"x": "c"}]}], "meta": {"k": "v"}}


def test_paths_compile_and_resolve():
    assert compile_path("messages[*].content") == ("messages", None, "content")
    assert compile_path("a.b[-1]") == ("a", "b", -1)
    assert [v for _, v in resolve(DOC, compile_path("messages[*].content"))] == [
        "a",
        ["b", {"x": "c"}],
    ]
    assert list(resolve(DOC, compile_path("messages[-1].content[0]"))) == [
        (("messages", 1, "content", 0), "b")
    ]
    assert [v for _, v in resolve(DOC, compile_path("meta.*"))] == ["v"]
    assert [p for p, _ in resolve(DOC, compile_path("**"))][-1] == ("meta", "k")
    assert list(resolve(DOC, compile_path("missing[*].x"))) == []
    assert format_path(("messages", 0, "content")) == "messages[0].content"
    assert set_at({"a": [1]}, ("a", 0), 2) == {"a": [2]} and set_at("x", (), "y") == "y"
    for bad in ("", "a..b", "a[0]b", "a[x]"):
        with pytest.raises(ValueError):
            compile_path(bad)


def test_content_type_parameters():
    assert parse_content_type('Multipart/Form-Data; boundary="a;b\\"c"; charset=utf-8') == (
        "multipart/form-data",
        {"boundary": 'a;b"c', "charset": "utf-8"},
    )
    assert parse_content_type(None) == ("", {})


def test_data_urls_and_image_magic():
    assert parse_data_url("data:text/plain;charset=utf-8,hi%20there", "x") == (
        "text/plain",
        {"charset": "utf-8"},
        b"hi there",
    )
    assert parse_data_url("data:image/png;base64,iVBORw0KGgo=", "x")[2].startswith(b"\x89PNG")
    with pytest.raises(Rejection):
        parse_data_url("data:image/png;base64,***", "x")
    assert sniff_image(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "webp"
    assert sniff_image(b"%PDF-1.7") is None


def form(*parts: bytes, end: bytes = b"--B--\r\n") -> bytes:
    return b"preamble\r\n" + b"".join(b"--B\r\n" + p + b"\r\n" for p in parts) + end


def test_multipart_parts_and_splice():
    body = form(
        b'Content-Disposition: form-data; name="a"\r\n\r\nhello',
        b"Content-Disposition: form-data; name=\"f\"; filename*=utf-8''caf%C3%A9.txt\r\n"
        b"Content-Type: text/plain\r\n\r\nline1\r\nline2",
    )
    a, f = parse_multipart(body, "B")
    assert (a.name, a.filename, body[a.start : a.end]) == ("a", None, b"hello")
    assert (f.filename, f.content_type, body[f.start : f.end]) == (
        "café.txt",
        "text/plain",
        b"line1\r\nline2",
    )
    rewritten = splice(body, [(a.start, a.end, b"HI")])
    assert [rewritten[p.start : p.end] for p in parse_multipart(rewritten, "B")] == [
        b"HI",
        b"line1\r\nline2",
    ]


@pytest.mark.parametrize(
    "body",
    [
        form(
            b'Content-Disposition: form-data; name="a"\r\n\r\nhello', end=b""
        ),  # no closing boundary
        b'--B\r\nContent-Disposition: form-data; name="a"\r\n\r\nhel',  # cut in a part
        b"--B\r\nContent-Disposition: form-data; name=",  # cut in the headers
        form(b"Content-Type: text/plain\r\n\r\nno disposition"),
        form(b"Content-Disposition: attachment\r\n\r\nnot form-data"),
        b"no boundary at all",
    ],
)
def test_malformed_multipart_is_refused(body):
    with pytest.raises(Rejection) as info:
        parse_multipart(body, "B")
    assert info.value.status == 400 and info.value.error == "malformed_multipart"


def test_too_many_parts():
    body = form(*[b'Content-Disposition: form-data; name="a"\r\n\r\nx'] * 5)
    with pytest.raises(Rejection) as info:
        parse_multipart(body, "B", max_parts=3)
    assert info.value.status == 413
