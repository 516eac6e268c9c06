"""The client's address, and whether a connection comes from a trusted proxy.

Only a trusted proxy (ONEC_EXCHANGE_TRUSTED_PROXIES) may name the client or the scheme:
anyone else can write X-Forwarded-For or X-Forwarded-Proto themselves, and believing them
would let a caller dodge the lock-out or pass for HTTPS. The settings keep the names the
1C exchange gave them; they apply to every request."""
from __future__ import annotations

import ipaddress
import logging

from django.conf import settings

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def request_from_trusted_proxy(request) -> bool:
    """True when the connection (REMOTE_ADDR) is one of ONEC_EXCHANGE_TRUSTED_PROXIES."""
    remote = _address(request.META.get("REMOTE_ADDR") or "")
    return remote is not None and _is_trusted(remote, _trusted_networks())


def request_client_ip(request) -> str | None:
    """The client's address: the connection's (REMOTE_ADDR), unless it is one of
    ONEC_EXCHANGE_TRUSTED_PROXIES; then the rightmost address of
    ONEC_EXCHANGE_CLIENT_IP_HEADER (default X-Forwarded-For) that is not a trusted proxy
    (the entries left of it are whatever the client wrote). None when there is no address."""
    remote = _address(request.META.get("REMOTE_ADDR") or "")
    trusted = _trusted_networks()
    if remote is None or not _is_trusted(remote, trusted):
        return str(remote) if remote is not None else None
    header = settings.ONEC_EXCHANGE_CLIENT_IP_HEADER or "HTTP_X_FORWARDED_FOR"
    for value in reversed((request.META.get(header) or "").split(",")):
        address = _address(value)
        if address is None:
            break  # not an address: the chain cannot be followed further
        if not _is_trusted(address, trusted):
            return str(address)
    return str(remote)


def _is_trusted(address: IPAddress, trusted: list) -> bool:
    return any(address in network for network in trusted)


def _address(value: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _trusted_networks() -> list:
    networks = []
    for item in settings.ONEC_EXCHANGE_TRUSTED_PROXIES:
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            logger.warning("ONEC_EXCHANGE_TRUSTED_PROXIES: %r is not an address or network, ignored", item)
    return networks
