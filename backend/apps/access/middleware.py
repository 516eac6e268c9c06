"""Forwarded headers are believed only from a trusted proxy."""
from __future__ import annotations

from django.conf import settings

from .addresses import request_from_trusted_proxy

# What Django itself would read from a proxy (USE_X_FORWARDED_HOST / _PORT); the scheme's
# header is SECURE_PROXY_SSL_HEADER's.
FORWARDED_HOST_HEADERS = ("HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PORT")


class ForwardedHeadersFromTrustedProxiesMiddleware:
    """Drops the scheme header of SECURE_PROXY_SSL_HEADER and X-Forwarded-Host/-Port from a
    request whose connection is not one of ONEC_EXCHANGE_TRUSTED_PROXIES: a client that
    writes `X-Forwarded-Proto: https` itself does not pass for HTTPS (secure cookies, no
    redirect to HTTPS). First in MIDDLEWARE, before anything reads them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        proxy_ssl_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
        headers = ((proxy_ssl_header[0],) if proxy_ssl_header else ()) + FORWARDED_HOST_HEADERS
        if any(header in request.META for header in headers) and not request_from_trusted_proxy(request):
            for header in headers:
                request.META.pop(header, None)
        return self.get_response(request)
