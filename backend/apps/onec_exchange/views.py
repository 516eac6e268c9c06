"""The 1C site-exchange endpoint, `/1c/exchange`: HTTP in, plain text out. What each mode
does lives in the services (`auth`, `receiving`, `protocol`, `sale`); this only reads the
request and writes the answer.

Answers are written in the site's language (`LANGUAGE_CODE`: 1C's operator reads them; an
exchange has no user language), UTF-8 with a byte-order mark: 1C decodes a body by its BOM first, so Russian
reasons read right whatever the server's Content-Type says (without it, some 1C versions
read the body as windows-1251). The endpoint is CSRF-exempt (1C sends no token); it
authenticates with HTTP Basic at `checkauth` and with the exchange cookie afterwards.
"""
from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Iterator

from django.conf import settings
from django.http import HttpResponse
from django.utils import translation
from django.utils.translation import gettext_noop
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from apps.access.addresses import request_client_ip
from apps.i18n.messages import Message, message_of

from .exceptions import ExchangeRefusedError
from .models import Exchange1C
from .services.answers import ExchangeAnswer
from .services.auth import COOKIE_NAME, exchange_by_token, exchange_checkauth, exchange_checkauth_answer, exchange_init_answer
from .services.protocol import exchange_close, exchange_deactivate, exchange_import
from .services.receiving import exchange_file_receive
from .services.sale import exchange_sale_query_document

logger = logging.getLogger(__name__)

BOM = "\ufeff"
READ_BLOCK_BYTES = 1024 * 1024


@csrf_exempt
@require_http_methods(["GET", "POST"])
def exchange_1c_view(request):
    # Every text of the answer, made while it is worked out, is in the site's language.
    with translation.override(settings.LANGUAGE_CODE):
        return _exchange_answer(request)


def _exchange_answer(request) -> HttpResponse:
    exchange_type, mode = request.GET.get("type", ""), request.GET.get("mode", "")
    try:
        if exchange_type not in Exchange1C.Type.values:
            raise ExchangeRefusedError(Message(
                gettext_noop("type=%(type)s is not served here: catalog or sale"), type=repr(exchange_type)
            ))
        if mode == "checkauth":
            username, password = _basic_credentials(request)
            exchange = exchange_checkauth(
                username=username, password=password, client_ip=request_client_ip(request), exchange_type=exchange_type
            )
            response = _answer(exchange_checkauth_answer(exchange))
            response.set_cookie(COOKIE_NAME, exchange.token, httponly=True, secure=request.is_secure(), samesite="Lax")
            return response
        exchange = exchange_by_token(token=request.COOKIES.get(COOKIE_NAME) or request.GET.get("sessid"))
        if mode == "init":
            return _answer(exchange_init_answer(exchange=exchange, version=request.GET.get("version")))
        if mode == "file":
            exchange_file_receive(
                exchange=exchange, name=request.GET.get("filename"), size=_body_size(request), chunks=_body_blocks(request)
            )
            return _answer(ExchangeAnswer("success"))
        if mode == "import":
            return _answer(exchange_import(exchange=exchange, filename=request.GET.get("filename")))
        if mode == "deactivate":
            return _answer(exchange_deactivate(exchange=exchange))
        if mode == "complete":
            return _answer(exchange_close(exchange=exchange))
        if exchange_type == Exchange1C.Type.SALE and mode == "query":
            return HttpResponse((BOM + exchange_sale_query_document()).encode("utf-8"), content_type="application/xml; charset=utf-8")
        if exchange_type == Exchange1C.Type.SALE and mode == "success":
            return _answer(ExchangeAnswer("success"))
        raise ExchangeRefusedError(Message(gettext_noop("mode=%(mode)s is not part of the exchange protocol"), mode=repr(mode)))
    except ExchangeRefusedError as exc:
        return _answer(ExchangeAnswer("failure", (message_of(exc),)))
    except Exception:  # 1C shows the answer's text: never an HTML error page
        # The caller may be anyone: the exception's text (paths, SQL, values) goes to the
        # log only.
        logger.exception("1C exchange: %s %s failed", exchange_type, mode)
        return _answer(ExchangeAnswer("failure", (Message(
            gettext_noop("the site failed to answer mode=%(mode)s; its log has the details"),
            mode=mode[:20] if mode.isalnum() else "?",
        ),)))


def _answer(answer: ExchangeAnswer) -> HttpResponse:
    return HttpResponse((BOM + answer.text).encode("utf-8"), content_type="text/plain; charset=utf-8")


def _basic_credentials(request) -> tuple[str | None, str | None]:
    """User name and password of an HTTP Basic header (UTF-8, else windows-1251)."""
    scheme, _, encoded = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        raw = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None, None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1251")
    username, _, password = text.partition(":")
    return username, password


def _body_size(request) -> int:
    """The body's size as the request declares it (Content-Length); Django reads no more."""
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0


def _body_blocks(request) -> Iterator[bytes]:
    """The request body in blocks, straight from the stream: never whole in memory, so
    DATA_UPLOAD_MAX_MEMORY_SIZE does not apply."""
    while block := request.read(READ_BLOCK_BYTES):
        yield block
