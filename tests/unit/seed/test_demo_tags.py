"""The demo's tags: computed ones for every demo person, and the two manual lists."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models import User
from app.models.tag import TagDefinition, TagMembership
from app.push.audiences import preview
from app.seed import seed_demo


def test_demo_people_carry_their_tags_and_can_be_previewed(app_context):
    seed_demo()
    lao_wang = db.session.scalar(sa.select(User).where(User.openid == "demo-citizen-2"))
    tags = set(db.session.scalars(sa.select(TagMembership.tag).where(
        TagMembership.user_id == lao_wang.id)))
    assert {"user:registered", "user:real_name", "region:530103", "assist:low_income"} <= tags
    assert db.session.scalar(sa.select(TagDefinition.sensitive).where(
        TagDefinition.name == "assist:low_income"))
    seen = preview("region:5301 AND assist:*")
    assert seen["audience_size"] == 1
    [sampled] = seen["sample"]
    # The sensitive tag made them match, and is still not shown as a reason.
    assert sampled["user_id"] == str(lao_wang.id) and sampled["name_masked"] == "王**"
    assert sampled["matched_tags"] == ["region:530103"]
    newborn = preview("life:newborn")
    assert newborn["audience_size"] == 1 and newborn["sample"][0]["matched_tags"] == [
        "life:newborn"]
