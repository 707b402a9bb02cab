"""Links: report URLs whose domain is outside an allow list or inside a deny list.

A domain entry covers its subdomains (``example.com`` covers ``docs.example.com``). Hosts are
read the way a browser reads them: percent-decoded, then compared in IDNA (punycode) form, so a
look-alike Unicode domain does not match the real one and ``%65vil.com`` is ``evil.com``. IP
hosts are recognised in every form a browser (or ``inet_aton``) accepts: ``[2001:db8::1]``,
``2130706433``, ``0x7f.1``, ``127.1``, and are compared in their canonical form.

Links are found in four shapes: absolute URLs (``https://x``, ``https:\\\\x``) and ``www.x``;
scheme-relative ``//x.y``; the target of a markdown or HTML link (``[t](javascript:...)``,
``href="data:..."``, ``<vbscript:...>``), whatever its scheme; and the script-capable schemes
(``javascript:``, ``vbscript:``, ``data:<type>``, ``file:/``) anywhere, so that ordinary prose
such as ``note: see`` is never taken for a link.
"""

from __future__ import annotations

import contextlib
import html
import ipaddress
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import ClassVar
from urllib.parse import unquote, urlsplit

from guardrails.policy.steps import UrlsStep
from guardrails.rules.base import CheckContext, Detection

__all__ = ["UrlCheck"]

# Schemes whose URLs always have a host; a browser also reads `\` as `/` in them.
_SPECIAL = ("http", "https", "ws", "wss", "ftp")
_CHAR = r"[^\s<>\"'`{}|\\^\[\]]"  # a URL character outside the host's IPv6 brackets
_IPV6 = r"\[[0-9a-z:.%_-]+\]"  # a bracketed IPv6 host, zone id included
_AUTHORITY = rf"(?:{_CHAR}*?@)?(?:{_IPV6}{_CHAR}*|{_CHAR}+)"
_URL = re.compile(
    rf"(?i)\b(?:(?:{'|'.join(_SPECIAL)}):[/\\]+|[a-z][a-z0-9+.-]{{1,15}}://|www\.){_AUTHORITY}"
)
# `//host.tld` where a link could start (not inside a path or another URL).
_SCHEME_RELATIVE = re.compile(
    rf"(?i)(?<![^\s\"'(<=])//(?:{_CHAR}*?@)?(?:{_IPV6}|[^\s<>\"'`{{}}|\\^\[\]/?#.]+\.)"
    rf"{_CHAR}*"
)
# The target of a markdown link, reference definition or autolink, or of an HTML URL attribute.
_LINK = re.compile(
    r"""(?imx)
    (?: \]\(\s*<? | ^[ ]{0,3}\[[^\]\n]+\]:[ \t]*<? | <(?=[a-z][a-z0-9+.-]{1,31}:[^\s<>]*>) )
        (?P<md>(?:[^\s()<>"'`]|\([^\s()<>"'`]*\))+)
    | \b(?:href|src|action|formaction|poster|background|cite|longdesc)\s*=\s*
        (?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s"'<>`=]+))
    """
)
# Schemes that run code or read local files: reported wherever they appear with a payload.
_DANGEROUS = re.compile(
    r"(?i)\b(?:javascript:|vbscript:|data:(?:[\w.+-]+/[\w.+-]+|[,;])|file:[/\\])[^\s<>\"'`]*"
)
_SCHEME = re.compile(r"(?i)^([a-z][a-z0-9+.-]*):")
_IGNORED = re.compile(r"[\t\n\r]")  # a browser drops these anywhere in a URL
_C0_AND_SPACE = "".join(map(chr, range(33)))  # a browser strips these around a URL
_TRAILING = ".,;:!?)]}'\""

_REASONS = {
    "disallowed_scheme": "link scheme not in the step's schemes",
    "denied_domain": "link host on the step's deny list",
    "ip_host": "link host is an IP address",
    "unlisted_domain": "link host not on the step's allow list",
}


def _ipv4(host: str) -> str | None:
    """The dotted form of an IPv4 host in any form a browser accepts (``0x7f.1``), else None."""
    parts = host.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()
    if not 1 <= len(parts) <= 4:
        return None
    numbers = []
    for part in parts:
        base, digits = 10, part
        if part[:2].lower() == "0x":
            base, digits = 16, part[2:] or "0"
        elif len(part) > 1 and part.startswith("0"):
            base, digits = 8, part[1:]
        if not (digits.isascii() and digits.isalnum()):
            return None
        try:
            numbers.append(int(digits, base))
        except ValueError:  # a letter or an 8 where a number should be: a domain label
            return None
    if any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        return None
    value = numbers[-1]
    for i, n in enumerate(numbers[:-1]):
        value += n << (8 * (3 - i))
    return str(ipaddress.IPv4Address(value))


def _host(url: str) -> tuple[str | None, str, bool]:
    """``(scheme, host, is_ip)`` of a link; scheme None for ``//host``, host "" if it has none.

    Raises ValueError for a URL that cannot be parsed (e.g. ``https://[zz]/``).
    """
    url = _IGNORED.sub("", url).strip(_C0_AND_SPACE)
    if url.lower().startswith("www."):
        url = "https://" + url
    elif url[:2] in ("//", "\\\\", "/\\", "\\/"):
        url = "//" + url[2:]
    scheme = None
    if match := _SCHEME.match(url):
        scheme, rest = match.group(1).lower(), url[match.end() :]
        if scheme in _SPECIAL:
            url = f"{scheme}://" + rest.lstrip("/\\")
        elif not rest.startswith("//"):
            return scheme, "", False  # javascript:, data:, mailto: ... have no host
    host = unquote(urlsplit(url).hostname or "").rstrip(".")
    if ":" in host:  # an IPv6 literal (urlsplit has checked it)
        return scheme, str(ipaddress.ip_address(host.split("%")[0])), True
    with contextlib.suppress(UnicodeError):  # not IDNA-encodable: compare as written
        host = host.encode("idna").decode("ascii")
    host = host.lower()
    ip = _ipv4(host)
    return scheme, ip or host, ip is not None


def _within(host: str, domains: Sequence[str], is_ip: bool = False) -> bool:
    if is_ip:
        return any(host == d.strip("[]") for d in domains)
    return any(host == d or host.endswith("." + d) for d in domains)


def _links(text: str) -> Iterator[tuple[int, int, str]]:
    """``(start, end, link)`` for every link in the text, first come first served."""
    found: list[tuple[int, int, str]] = []
    for m in _LINK.finditer(text):
        group = next(g for g in ("md", "dq", "sq", "bare") if m.group(g) is not None)
        start, end = m.span(group)
        found.append((start, end, html.unescape(m.group(group))))
    for pattern in (_URL, _SCHEME_RELATIVE, _DANGEROUS):
        for m in pattern.finditer(text):
            url = m.group().rstrip(_TRAILING)
            found.append((m.start(), m.start() + len(url), url))
    found.sort(key=lambda link: (link[0], -link[1]))
    end = -1
    for link in found:
        if link[0] >= end:
            end = link[1]
            yield link


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
        if ":" not in text and "/" not in text and "\\" not in text and "www." not in text.lower():
            return []
        found: list[Detection] = []
        for start, end, link in _links(text):
            try:
                scheme, host, is_ip = _host(link)
            except ValueError:
                found.append(Detection("malformed_url", span=(start, end), detail="unparseable"))
                continue
            label = self._judge(scheme, host, is_ip)
            if label:  # the detail names the rule, never the host: decisions carry no content
                found.append(Detection(label, span=(start, end), detail=_REASONS[label]))
        return found

    def _judge(self, scheme: str | None, host: str, is_ip: bool) -> str | None:
        if self.schemes and scheme is not None and scheme not in self.schemes:
            return "disallowed_scheme"
        if not host:  # a relative link, or javascript: / mailto: with the scheme allowed
            return None
        if _within(host, self.deny, is_ip):
            return "denied_domain"
        if self.ip_hosts and is_ip:
            return "ip_host"
        if self.allow and not _within(host, self.allow, is_ip):
            return "unlisted_domain"
        return None
