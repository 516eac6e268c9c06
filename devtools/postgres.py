"""Scratch databases for the tests and the benchmarks: made empty before use (the tests
drop theirs after).

`server` is a libpq address without the database, e.g. `postgresql://postgres@127.0.0.1:5432`.
CREATE and DROP DATABASE cannot run in a transaction: the statements run on an autocommit
connection to the server's `postgres` database."""
from __future__ import annotations

import psycopg


def fresh_database(server: str, name: str) -> str:
    """An empty database `name`: dropped first if it exists, its connections closed. Returns
    its address."""
    _run(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    return f"{server}/{name}"


def drop_database(server: str, name: str) -> None:
    _run(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _run(server: str, *statements: str) -> None:
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement)
