"""The follow-up rules run by themselves while the API runs; a broken rules file stops it."""

import asyncio
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from anxin.cloud.api import create_app
from anxin.cloud.care.follow_up_rules import RulesError
from anxin.cloud.care.follow_ups import api_background
from anxin.cloud.database.models import FollowUp, Person
from anxin.cloud.stores import Stores
from anxin.config import CloudConfig, FollowUpConfig
from tests.support.care_stores import care_stores


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[Stores]:
    with care_stores(f"sqlite:///{tmp_path}/care.sqlite") as stores:
        yield stores


def raised(stores: Stores) -> list[str]:
    with stores.registry.session() as session:
        return list(session.scalars(select(FollowUp.rule_id)))


async def test_the_loop_raises_follow_ups_while_the_api_runs(stores: Stores) -> None:
    with stores.registry.session() as session, session.begin():
        session.get(Person, "p0001").pension_certification_due = date.today() + timedelta(days=3)
    app = create_app(stores.registry, stores.timeseries)
    app.cleanup_ctx.append(api_background(stores.registry, stores.timeseries, FollowUpConfig()))
    async with TestClient(TestServer(app)):
        for _ in range(200):
            if raised(stores):
                break
            await asyncio.sleep(0.05)
        assert raised(stores) == ["pension_certification"]


def test_a_broken_rules_file_stops_the_api_naming_the_rule(stores: Stores, tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(
        '[[rules]]\nid = "visits"\ntitle_zh = "探访"\ntitle_en = "Visits"\n'
        'action = "wellness_visit"\n[[rules.when]]\ntype = "not_worn"\nhours = -1\n',
        encoding="utf-8",
    )
    config = CloudConfig.model_validate({"follow_up": {"rules_file": str(rules)}})
    with pytest.raises(RulesError, match=r"rule 'visits' \(rules\[0\]\): when\[0\]\.hours"):
        create_app(stores.registry, stores.timeseries, config=config)
    with pytest.raises(RulesError, match="rule 'visits'"):
        api_background(stores.registry, stores.timeseries, config.follow_up)
