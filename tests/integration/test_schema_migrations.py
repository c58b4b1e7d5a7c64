"""The registry schema under Alembic: fresh databases, the previous release's databases,
downgrades and ``anxin admin init-db`` / ``migrate``, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, MetaData, inspect, select, text
from sqlalchemy.orm import Session

from anxin import cli
from anxin.cloud.database import schema
from anxin.cloud.database.engines import make_engine
from anxin.cloud.database.models import Alert, ApiSession, Base, Binding, FamilyLink, Person, User
from anxin.cloud.registry.registry import Registry
from tests.support import previous_release_models as previous

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.services)]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.sqlite'}"
    return str(request.getfixturevalue("postgres_url"))  # a scratch schema, dropped after


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def differences(engine: Engine, metadata: MetaData = Base.metadata) -> list[object]:
    """What autogenerate would change; tables of other stores (time series) are ignored."""

    def registry_only(name: str | None, kind: str, _parent: object) -> bool:
        return kind != "table" or name in metadata.tables

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_name": registry_only})
        return list(compare_metadata(context, metadata))


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_a_fresh_database_gets_exactly_the_models_schema(engine: Engine) -> None:
    revision = Registry(engine).create_schema()

    assert revision == schema.head_revision()
    assert schema.current_revision(engine) == revision
    assert tables(engine) == set(Base.metadata.tables) | {"alembic_version"}
    assert differences(engine) == []


def test_create_schema_again_changes_nothing(engine: Engine) -> None:
    registry = Registry(engine)
    registry.create_schema()
    registry.add_all([person("p-1")])

    assert registry.create_schema() == schema.head_revision()
    with registry.session() as session:
        assert session.scalars(select(Person.name)).all() == ["王秀英"]


def test_first_revision_is_the_previous_release_schema(engine: Engine) -> None:
    assert schema.migrate(engine, schema.PREVIOUS_RELEASE) == schema.PREVIOUS_RELEASE
    assert differences(engine, previous.Base.metadata) == []


def test_downgrade_to_base_drops_every_registry_table(engine: Engine) -> None:
    schema.upgrade(engine)

    with pytest.raises(schema.SchemaError, match="drops tables or columns"):
        schema.migrate(engine, "base")
    assert schema.current_revision(engine) == schema.head_revision()

    assert schema.migrate(engine, "base", allow_downgrade=True) is None
    # Alembic keeps its (now empty) bookkeeping table.
    assert tables(engine) <= {"alembic_version"}
    assert schema.current_revision(engine) is None


def test_a_previous_release_database_is_upgraded_keeping_its_data(engine: Engine) -> None:
    previous.Base.metadata.create_all(engine)  # what the previous release's init-db did
    with Session(engine) as session, session.begin():
        # These models have no relationships to order the inserts: parents go in first.
        for rows in (
            [
                previous.Person(
                    id="p-1",
                    name="王秀英",
                    birth_date=date(1941, 3, 2),
                    sex="F",
                    community="东城社区",
                ),
                previous.Gateway(id="gw-1", site_id="home-1"),
                previous.User(username="li", display_name="李娜", role="family", password_hash="x"),
            ],
            [
                previous.Device(id="hr-1", gateway_id="gw-1", kind="heart_rate", address="a"),
                previous.FamilyLink(username="li", person_id="p-1", relation="女儿"),
                previous.ApiSession(token_hash="t" * 64, username="li", expires_at_ms=9),
            ],
            [
                previous.Binding(device_id="hr-1", person_id="p-1", valid_from_ms=1),
                previous.Alert(
                    gateway_id="gw-1",
                    seq=7,
                    person_id="p-1",
                    device_id="hr-1",
                    kind="heart_rate_high",
                    severity="high",
                    raised_at_ms=1,
                    last_raised_at_ms=1,
                    received_at_ms=2,
                    value=131.0,
                ),
            ],
        ):
            session.add_all(rows)
            session.flush()

    assert Registry(engine).create_schema() == schema.head_revision()

    assert differences(engine) == []
    with Session(engine) as session:
        kept = session.get_one(Person, "p-1")
        assert (kept.name, kept.community, kept.ltc_insurance_status) == (
            "王秀英",
            "东城社区",
            "none",
        )
        alert = session.scalars(select(Alert)).one()
        assert (alert.person_id, alert.seq, alert.value, alert.status) == ("p-1", 7, 131.0, "open")
        assert alert.escalation_level == 0
        user = session.get_one(User, "li")
        assert (user.role, user.failed_logins, user.disabled) == ("family", 0, False)
        assert (user.notify_channels, user.timezone) == ([], "Asia/Shanghai")
        assert session.get_one(FamilyLink, ("li", "p-1")).notify is True
        assert session.get_one(ApiSession, "t" * 64).last_used_at_ms == 0
        assert session.scalars(select(Binding.person_id)).all() == ["p-1"]


def test_a_database_made_by_create_all_of_this_release_is_stamped_newest(
    engine: Engine,
) -> None:
    Base.metadata.create_all(engine)
    Registry(engine).add_all([person("p-1")])

    assert Registry(engine).create_schema() == schema.head_revision()
    with Session(engine) as session:
        assert session.get_one(Person, "p-1").name == "王秀英"


def test_tables_of_no_known_release_are_refused(engine: Engine) -> None:
    Person.__table__.create(engine)

    with pytest.raises(schema.SchemaError, match="match no known release"):
        Registry(engine).create_schema()


def test_a_database_from_a_newer_release_is_left_alone(engine: Engine) -> None:
    schema.upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))

    with pytest.raises(schema.SchemaError, match="'9999', which this version of Anxin"):
        Registry(engine).create_schema()
    assert schema.current_revision(engine) == "9999"


def test_init_db_twice_keeps_the_registry(database_url: str, tmp_path: Path) -> None:
    timeseries_url = (
        f"sqlite:///{tmp_path / 'timeseries.sqlite'}"
        if database_url.startswith("sqlite")
        else database_url
    )
    env = {
        **os.environ,
        "ANXIN_REGISTRY__URL": database_url,
        "ANXIN_TIMESERIES__URL": timeseries_url,
    }

    def init_db() -> str:
        done = subprocess.run(
            [sys.executable, "-m", "anxin.cli", "admin", "init-db"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    first = init_db()
    engine = make_engine(database_url)
    try:
        Registry(engine).add_all([person("p-1")])
        second = init_db()
        with Session(engine) as session:
            assert session.scalars(select(Person.id)).all() == ["p-1"]
        assert differences(engine) == []
    finally:
        engine.dispose()
    for output in (first, second):
        assert f"(schema revision {schema.head_revision()})" in output


def test_migrate_command_moves_between_revisions(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ANXIN_REGISTRY__URL", database_url)
    newest = schema.head_revision()

    assert cli.main(["admin", "migrate", "--current"]) == 0
    assert capsys.readouterr().out == f"schema revision none (newest {newest})\n"

    assert cli.main(["admin", "migrate"]) == 0
    assert capsys.readouterr().out == f"schema revision none -> {newest}\n"

    assert cli.main(["admin", "migrate", "--to", "0001"]) == 2
    assert "downgrading must be asked for explicitly" in capsys.readouterr().err

    assert cli.main(["admin", "migrate", "--to", "0001", "--allow-data-loss"]) == 0
    assert capsys.readouterr().out == f"schema revision {newest} -> 0001\n"

    assert cli.main(["admin", "migrate", "--to", "no-such-rev"]) == 2
    assert "unknown schema revision 'no-such-rev'" in capsys.readouterr().err

    assert cli.main(["admin", "migrate", "--current"]) == 0
    assert capsys.readouterr().out == f"schema revision 0001 (newest {newest})\n"


def person(person_id: str) -> Person:
    return Person(
        id=person_id, name="王秀英", birth_date=date(1941, 3, 2), sex="F", community="东城社区"
    )
