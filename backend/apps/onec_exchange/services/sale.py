"""`type=sale`: orders are not this product's job, so 1C is answered harmlessly."""
from __future__ import annotations

from django.utils import timezone


def exchange_sale_query_document() -> str:
    """`type=sale&mode=query`: a valid CommerceML document without orders."""
    stamp = timezone.localtime().strftime("%Y-%m-%dT%H:%M:%S")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<КоммерческаяИнформация ВерсияСхемы="2.08" ДатаФормирования="{stamp}"></КоммерческаяИнформация>\n'
    )
