"""Which URLs a webhook may call, and the address to connect to.

Checked when a subscription is saved and again at every send, after DNS: a name that resolved
to a public address at save time may resolve to 127.0.0.1 or 169.254.169.254 later (DNS
rebinding). The sender connects to the address checked here, never resolving the name again.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _


class UnsafeURL(ValueError):
    """The URL may not be called; the message says why, for the partner and the log."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # the name, for the Host header and TLS (SNI and certificate check)
    port: int
    path: str  # path and query
    address: str  # the checked IP address to connect to


def _allow_private() -> bool:
    return bool(settings.PCP_WEBHOOK_ALLOW_PRIVATE_ADDRESSES)


def check_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of an acceptable URL, or UnsafeURL: the rules that need no DNS."""
    if not isinstance(url, str) or not url or len(url) > 2000 or any(c.isspace() for c in url):
        raise UnsafeURL(_("Enter a URL without spaces, at most 2000 characters long."))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeURL(_("This URL cannot be parsed.")) from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise UnsafeURL(_("Only https URLs can receive webhooks."))
    if scheme == "http" and not settings.PCP_WEBHOOK_ALLOW_HTTP:
        raise UnsafeURL(_("Only https URLs can receive webhooks."))
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UnsafeURL(
            _("A webhook URL may not contain a user name or password; the signature authenticates us.")
        )
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeURL(_("This URL has no host."))
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return scheme, host, port or (443 if scheme == "https" else 80), path


def check_address(address: str) -> None:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if _allow_private():
        return
    if not ip.is_global or ip.is_multicast:
        raise UnsafeURL(
            _("This URL points at a private, loopback or link-local address (%(address)s).") % {"address": ip}
        )


def resolve(url: str) -> Target:
    """The URL checked, its host resolved, and every address it resolves to checked.

    All of them, not only the first: a name with one public and one private address could be
    steered to the private one by whoever controls its DNS.
    """
    scheme, host, port, path = check_url(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        message = _("The host %(host)s cannot be resolved (%(error)s).") % {"host": host, "error": exc}
        raise UnsafeURL(message) from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise UnsafeURL(_("The host %(host)s cannot be resolved.") % {"host": host})
    for address in addresses:
        check_address(address)
    return Target(scheme=scheme, host=host, port=port, path=path, address=addresses[0])
