"""Links: report URLs whose domain is outside an allow list or inside a deny list.

A domain entry covers its subdomains (``example.com`` covers ``docs.example.com``). Hosts are
compared in IDNA (punycode) form, so a look-alike Unicode domain does not match the real one.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

from guardrails.policy.steps import UrlsStep
from guardrails.rules.base import CheckContext, Detection

__all__ = ["UrlCheck"]

_URL = re.compile(
    r"(?i)\b(?:[a-z][a-z0-9+.-]{1,15}://|www\.)[^\s<>\"'`{}|\\^\[\]]+",
)
_TRAILING = ".,;:!?)]}'\""


def _host(url: str) -> tuple[str, str]:
    """``(scheme, host)`` of a URL found in text (``www.x`` has no scheme: https)."""
    if url.lower().startswith("www."):
        url = "https://" + url
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    with contextlib.suppress(UnicodeError):  # not IDNA-encodable: compare as written
        host = host.encode("idna").decode("ascii")
    return parts.scheme.lower(), host.lower()


def _within(host: str, domains: Sequence[str]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


class UrlCheck:
    kind: ClassVar[str] = "urls"

    def __init__(
        self,
        allow: Sequence[str] = (),
        deny: Sequence[str] = (),
        schemes: Sequence[str] = (),
        ip_hosts: bool = False,
    ) -> None:
        self.allow = tuple(allow)
        self.deny = tuple(deny)
        self.schemes = frozenset(s.lower() for s in schemes)
        self.ip_hosts = ip_hosts

    @classmethod
    def from_config(cls, config: UrlsStep, base_dir: Path) -> UrlCheck:
        return cls(config.allow, config.deny, config.schemes, config.ip_hosts)

    def scan(self, text: str, context: CheckContext) -> Sequence[Detection]:
        if "://" not in text and "www." not in text.lower():
            return []
        found: list[Detection] = []
        for m in _URL.finditer(text):
            url = m.group().rstrip(_TRAILING)
            span = (m.start(), m.start() + len(url))
            try:
                scheme, host = _host(url)
            except ValueError:
                found.append(Detection("malformed_url", span=span, detail="unparseable URL"))
                continue
            label = self._judge(scheme, host)
            if label:
                found.append(Detection(label, span=span, detail=f"host {host or '?'}"))
        return found

    def _judge(self, scheme: str, host: str) -> str | None:
        if self.schemes and scheme not in self.schemes:
            return "disallowed_scheme"
        if _within(host, self.deny):
            return "denied_domain"
        if self.ip_hosts:
            try:
                ipaddress.ip_address(host.strip("[]"))
                return "ip_host"
            except ValueError:
                pass
        if self.allow and not _within(host, self.allow):
            return "unlisted_domain"
        return None
