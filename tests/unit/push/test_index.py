"""The audience index follows the change log: commits, gaps, snapshots, rebuilds, expiries."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db, redis_store
from app.models.tag import TagChange, TagMembership
from app.platform.orm import utcnow
from app.push import index as index_module
from app.push import memberships
from app.push.index import SNAPSHOT_META_KEY, AudienceIndex, audience_index
from tests.factories import create_user


@pytest.fixture
def people(app_context):
    return [create_user(verified=False) for _ in range(4)]


def members(index: AudienceIndex, tag: str) -> set[int]:
    with index.reading() as view:
        return set(view.bitmap(tag))


def test_a_committed_grant_and_revoke_reach_the_index(people):
    a, b = people[0].id, people[1].id
    memberships.grant(a, "life:newborn", source="manual")
    memberships.grant(b, "life:newborn", source="manual")
    db.session.commit()
    index = audience_index()
    assert members(index, "life:newborn") == {a, b}
    memberships.revoke(a, "life:newborn")
    assert members(index, "life:newborn") == {a, b}       # not before the commit
    db.session.commit()
    assert members(index, "life:newborn") == {b}


def test_a_disputed_membership_leaves_the_index_until_upheld(people):
    user_id = people[0].id
    memberships.grant(user_id, "life:newborn", source="manual")
    db.session.commit()
    membership = db.session.scalar(sa.select(TagMembership))
    memberships.set_disputed(membership, True)
    db.session.commit()
    assert members(audience_index(), "life:newborn") == set()
    memberships.set_disputed(membership, False)
    db.session.commit()
    assert members(audience_index(), "life:newborn") == {user_id}


def test_a_lower_number_committed_late_is_not_skipped(people):
    index = audience_index()
    index.refresh()
    position = index.refresh()
    # Number position+2 commits first; position+1 (an older transaction) commits after it.
    db.session.add(TagChange(seq=position + 2, tag="life:newborn", user_id=people[0].id,
                             present=True))
    db.session.commit()
    assert members(index, "life:newborn") == {people[0].id}
    db.session.add(TagChange(seq=position + 1, tag="life:newborn", user_id=people[1].id,
                             present=True))
    db.session.commit()
    assert members(index, "life:newborn") == {people[0].id, people[1].id}


def test_a_gap_older_than_the_patience_counts_as_rolled_back(people, monkeypatch):
    index = audience_index()
    position = index.refresh()
    db.session.add(TagChange(seq=position + 3, tag="life:newborn", user_id=people[0].id,
                             present=True))
    db.session.commit()
    index.refresh()
    assert set(index._state.gaps) == {position + 1, position + 2}
    monkeypatch.setattr(index_module, "GAP_PATIENCE_S", 0.0)
    index.refresh()
    assert index._state.gaps == {}


def test_a_new_process_starts_from_the_snapshot_and_replays_what_came_after(people):
    memberships.grant(people[0].id, "life:newborn", source="manual")
    db.session.commit()
    assert audience_index().save_snapshot() > 0
    memberships.grant(people[1].id, "life:newborn", source="manual")
    db.session.commit()
    fresh = AudienceIndex()
    assert members(fresh, "life:newborn") == {people[0].id, people[1].id}
    assert fresh._state.loaded


def test_a_lost_or_stale_snapshot_is_rebuilt_from_the_memberships(people):
    memberships.grant(people[0].id, "life:newborn", source="manual")
    db.session.commit()
    audience_index().save_snapshot()
    # A snapshot from long ago claiming a far position: not trusted.
    redis_store.binary_client.hset(SNAPSHOT_META_KEY, mapping={
        "seq": 10**9, "taken_at": 0})
    assert members(AudienceIndex(), "life:newborn") == {people[0].id}
    redis_store.binary_client.flushdb()
    assert members(AudienceIndex(), "life:newborn") == {people[0].id}


def test_an_emptied_log_makes_the_index_rebuild(people):
    memberships.grant(people[0].id, "life:newborn", source="manual")
    db.session.commit()
    index = audience_index()
    assert members(index, "life:newborn") == {people[0].id}
    db.session.execute(sa.delete(TagChange))
    db.session.execute(sa.delete(TagMembership))
    db.session.commit()
    assert members(index, "life:newborn") == set()


def test_expired_memberships_leave_by_the_expiry_sweep(people):
    soon = utcnow() + timedelta(seconds=1)
    memberships.grant(people[0].id, "life:newborn", source="manual", expires_at=soon)
    memberships.grant(people[1].id, "life:newborn", source="manual")
    db.session.commit()
    assert members(audience_index(), "life:newborn") == {people[0].id, people[1].id}
    assert memberships.expire_due(now=soon + timedelta(seconds=1)) == 1
    db.session.commit()
    assert members(audience_index(), "life:newborn") == {people[1].id}


def test_a_rebuild_reads_only_counting_memberships(people):
    memberships.grant(people[0].id, "life:newborn", source="manual")
    memberships.grant(people[1].id, "life:newborn", source="manual",
                      expires_at=utcnow() - timedelta(days=1))
    memberships.grant(people[2].id, "life:newborn", source="manual")
    db.session.commit()
    memberships.set_disputed(db.session.scalar(sa.select(TagMembership).where(
        TagMembership.user_id == people[2].id)), True)
    db.session.commit()
    index = AudienceIndex()
    assert index.rebuild() == 1
    assert members(index, "life:newborn") == {people[0].id}


def test_a_prefix_union_is_kept_between_evaluations_until_a_covered_tag_changes(people):
    from app.push.evaluation import evaluate
    from app.push.expressions import parse

    a, b, c = (p.id for p in people[:3])
    memberships.grant(a, "region:530102", source="computed")
    memberships.grant(b, "region:530103", source="computed")
    memberships.grant(c, "region:530111", source="computed")
    memberships.grant(a, "user:registered", source="computed")
    memberships.grant(b, "user:registered", source="computed")
    memberships.grant(c, "user:registered", source="computed")
    db.session.commit()
    index = audience_index()
    with index.reading() as view:
        first = view.pattern_bitmap("region:5301")
        assert set(first) == {a, b, c}
        assert view.pattern_bitmap("region:5301") is first      # kept, not merged again
        assert view.pattern_bitmap("region:530102") is None      # one tag: its own bitmap
    memberships.revoke(b, "region:530103")
    db.session.commit()
    with index.reading() as view:
        assert set(view.pattern_bitmap("region:5301")) == {a, c}
        assert set(evaluate(parse("region:5301"), view)) == {a, c}
