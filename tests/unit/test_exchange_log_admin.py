"""The 1C exchange log in the admin reads each page with a fixed number of queries, however
many imports an exchange asked for and however many sessions each started."""
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.imports.models import ImportSession
from apps.imports.services.sessions import import_session_complete, import_session_create, import_session_start
from apps.onec_exchange.models import Exchange1C, ExchangeImport

pytestmark = pytest.mark.django_db

LIST_URL = reverse("admin:onec_exchange_exchange1c_changelist")


def _exchange(imports: int, sessions_each: int) -> Exchange1C:
    exchange = Exchange1C.objects.create(exchange_type=Exchange1C.Type.CATALOG, token=f"token-{Exchange1C.objects.count()}")
    for number in range(imports):
        record = ExchangeImport.objects.create(
            exchange=exchange, filename=f"import{number}.xml", path=f"import{number}.xml",
            status=ExchangeImport.Status.COMPLETED,
        )
        for _ in range(sessions_each):
            session = import_session_create(import_type="catalog", started_by=ImportSession.StartedBy.EXCHANGE)
            import_session_start(session_id=session.pk)
            import_session_complete(session_id=session.pk)
            record.sessions.add(session)
    return exchange


def _queries(client, url: str) -> int:
    client.get(url)  # the first request of a test fills caches (content types) the next ones use
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_an_exchange_page_reads_its_imports_sessions_once(admin_client):
    small, large = _exchange(imports=1, sessions_each=1), _exchange(imports=4, sessions_each=3)
    small_url, large_url = (reverse("admin:onec_exchange_exchange1c_change", args=[e.pk]) for e in (small, large))
    assert _queries(admin_client, large_url) == _queries(admin_client, small_url)
    page = admin_client.get(large_url).content.decode()
    linked = set(map(int, re.findall(r'/importsession/(\d+)/change/">#', page)))
    assert linked == set(ImportSession.objects.filter(exchange_imports__exchange=large).values_list("pk", flat=True))


def test_the_exchange_list_reads_every_exchanges_imports_at_once(admin_client):
    _exchange(imports=1, sessions_each=0)
    one = _queries(admin_client, LIST_URL)
    for _ in range(4):
        _exchange(imports=3, sessions_each=0)
    assert _queries(admin_client, LIST_URL) == one
