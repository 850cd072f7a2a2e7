"""Statements compiled once and run on a DB-API connection (toolkit.db.prepare and
dbapi_connection), on both databases: the values stored are the ones an execution through
SQLAlchemy stores, errors come out as SQLAlchemy's, and a broken connection is discarded."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, create_engine, insert, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.pool import NullPool

from tests.campaigns.helpers import make_campaign, sign
from toolkit.campaigns.models import Signature
from toolkit.db import dbapi_connection, prepare
from toolkit.extensions import db

WHEN = datetime(2012, 12, 3, 9, 30, 15, 250000, tzinfo=UTC)


def _row(campaign_id: int, email: str) -> dict:
    return {
        "campaign_id": campaign_id, "kind": "organization", "name": "Réseau Ω — مؤسسة",
        "email": email, "email_normalized": email, "email_domain": "example.org",
        "organization": "Network", "role": "", "city": "Dubai", "country": "AE",
        "list_publicly": False, "receive_updates": True, "language": "fr",
        "extra": {"question": "answer", "n": [1, 2]}, "ip": "192.0.2.1", "source": "web",
        "status": "pending", "rejection_reason": "", "created_at": WHEN,
    }  # fmt: skip


def _prepared_insert():  # noqa: ANN202 - a Prepared
    table = Signature.__table__
    values = {name: bindparam(name, type_=table.c[name].type) for name in _row(0, "")}
    return prepare(insert(table).values(values), db.engine.dialect)


def test_a_prepared_insert_stores_what_sqlalchemy_would(app):
    campaign_id = make_campaign(app)
    with app.app_context():
        prepared = _prepared_insert()
        with dbapi_connection(db.engine) as connection:
            cursor = connection.cursor()
            cursor.execute(prepared.sql, prepared.parameters(_row(campaign_id, "a@example.org")))
            connection.commit()
        db.session.execute(insert(Signature.__table__), [_row(campaign_id, "b@example.org")])
        db.session.commit()
        first, second = db.session.scalars(select(Signature).order_by(Signature.id)).all()
        columns = [name for name in _row(0, "") if name not in ("email", "email_normalized")]
        assert {name: getattr(first, name) for name in columns} == {
            name: getattr(second, name) for name in columns
        }
        assert first.extra == {"question": "answer", "n": [1, 2]}
        assert first.name == "Réseau Ω — مؤسسة"
        assert first.list_publicly is False and first.receive_updates is True
        stored = first.created_at if first.created_at.tzinfo else first.created_at.replace(
            tzinfo=UTC)  # fmt: skip
        assert stored == WHEN


def test_a_column_left_to_its_default_is_refused_when_preparing(app):
    table = Signature.__table__
    with app.app_context(), pytest.raises(ValueError, match="missing: .*kind"):
        prepare(insert(table).values(campaign_id=bindparam("campaign_id"),
                                     name=bindparam("name")), db.engine.dialect)  # fmt: skip


def test_a_repeated_email_is_sqlalchemys_integrity_error_without_the_parameters(app):
    campaign_id = make_campaign(app)
    with app.app_context():
        prepared = _prepared_insert()
        values = prepared.parameters(_row(campaign_id, "twice@example.org"))
        with dbapi_connection(db.engine) as connection:
            connection.cursor().execute(prepared.sql, values)
            connection.commit()
        with pytest.raises(IntegrityError) as raised, dbapi_connection(db.engine) as connection:
            connection.cursor().execute(prepared.sql, values)
        assert raised.value.params is None  # the row (a signer's address) is not carried
        assert "192.0.2.1" not in str(raised.value)
        # The connection went back to the pool rolled back, and works.
        count = db.session.scalar(text("SELECT count(*) FROM signatures"))
        assert count == 1


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # a server that drops
def test_a_connection_the_server_dropped_is_discarded_and_the_next_one_works(app):
    with app.app_context():
        with pytest.raises(DBAPIError) as raised, dbapi_connection(db.engine) as connection:
            pid = connection.driver_connection.info.backend_pid
            with db.engine.connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            connection.cursor().execute("SELECT 1")
        assert raised.value.connection_invalidated
        with dbapi_connection(db.engine) as connection:
            cursor = connection.cursor()
            cursor.execute("SELECT 1")
            assert cursor.fetchone()[0] == 1


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # a server that drops
def test_signing_after_the_server_dropped_every_connection_is_no_error(app, client):
    # No background sender in this process: the connection the first signature used goes
    # back to the pool idle, and is the one the server then drops.
    app.config["MAIL_DELIVERY"] = "worker"
    make_campaign(app)
    assert sign(client, email="before@example.org").status_code == 302
    with app.app_context():
        assert db.engine.pool.checkedin() >= 1
    outside = create_engine(app.config["DATABASE_URL"], poolclass=NullPool)  # not the app's pool
    with outside.connect() as connection:
        dropped = connection.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )).scalar()  # fmt: skip
    outside.dispose()
    assert dropped >= 1  # every connection in the app's pool
    assert sign(client, email="after@example.org").status_code == 302
    with app.app_context():
        emails = db.session.scalars(select(Signature.email).order_by(Signature.id)).all()
    assert emails == ["before@example.org", "after@example.org"]


def test_engine_of_does_not_open_an_unused_request_session(app):
    from sqlalchemy.orm import Session

    from toolkit.db import engine_of

    with app.app_context():
        assert not db.session.registry.has()
        assert engine_of(db.session) is db.engine
        assert not db.session.registry.has()  # still no session: nothing was opened for it
        db.session.execute(text("SELECT 1"))
        assert engine_of(db.session) is db.session.get_bind()  # the open one's bind
        assert engine_of(db.engine) is db.engine
        with Session(db.engine) as session:
            assert engine_of(session) is db.engine
