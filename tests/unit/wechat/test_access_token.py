"""The shared access token: cached in Redis, refreshed early, fetched by one worker at a time."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator

import fakeredis
import pytest

from app.wechat.access_token import AccessTokenHolder
from app.wechat.errors import WeChatBusy, WeChatUnavailable
from mini_program_stub.wechat_server import StubServer
from tests.unit.wechat.stub_support import STABLE_TOKEN, calls, control, make_client, serve_stub

CACHE_KEY = "wechat:access_token:test"
LOCK_KEY = CACHE_KEY + ":lock"


class FakeClock:
    """A wall clock that moves only when told to."""

    def __init__(self, now: float = 1_763_800_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class FakeWeChat:
    """A token fetcher that hands out token-1, token-2, ... unless told to repeat or fail."""

    def __init__(self, expires_in: int = 7200) -> None:
        self.expires_in = expires_in
        self.calls: list[bool] = []
        self.same_token = False
        self.failure: Exception | None = None

    def __call__(self, force_refresh: bool = False) -> tuple[str, int]:
        self.calls.append(force_refresh)
        if self.failure is not None:
            raise self.failure
        number = 1 if self.same_token else len(self.calls)
        return f"token-{number}", self.expires_in


@pytest.fixture
def redis_client() -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis(decode_responses=True)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def wechat() -> FakeWeChat:
    return FakeWeChat()


@pytest.fixture
def holder(wechat: FakeWeChat, redis_client: fakeredis.FakeRedis,
           clock: FakeClock) -> AccessTokenHolder:
    return AccessTokenHolder(wechat, redis_client, cache_key=CACHE_KEY, clock=clock,
                             wait_seconds=0)


@pytest.fixture(scope="module")
def stub_server() -> Iterator[StubServer]:
    with serve_stub() as server:
        yield server


@pytest.fixture
def stub(stub_server: StubServer) -> StubServer:
    control(stub_server, "POST", "/reset")
    return stub_server


# --- caching and early refresh ------------------------------------------------------------


def test_the_token_is_fetched_once_and_then_served_from_the_cache(
        holder: AccessTokenHolder, wechat: FakeWeChat) -> None:
    assert [holder.get() for _ in range(3)] == ["token-1"] * 3
    assert wechat.calls == [False]


def test_the_cache_lives_in_redis_and_expires_with_the_token(
        holder: AccessTokenHolder, redis_client: fakeredis.FakeRedis, clock: FakeClock) -> None:
    holder.get()
    cached = json.loads(redis_client.get(CACHE_KEY))
    assert (cached["token"], cached["expires_at"]) == ("token-1", clock.now + 7200)
    assert 7190_000 < redis_client.pttl(CACHE_KEY) <= 7200_000


def test_a_token_inside_the_refresh_margin_is_refreshed_early(
        holder: AccessTokenHolder, wechat: FakeWeChat, clock: FakeClock) -> None:
    holder.get()
    clock.now += 7200 - 301
    assert holder.get() == "token-1"
    clock.now += 2  # 299 s left: inside the 300 s margin, though still valid
    assert holder.get() == "token-2"
    assert wechat.calls == [False, False]


def test_a_token_handed_back_unchanged_is_not_fetched_again_on_every_call(
        holder: AccessTokenHolder, wechat: FakeWeChat, clock: FakeClock) -> None:
    wechat.expires_in = 200  # already inside the margin, as when WeChat repeats an old token
    holder.get()
    clock.now += 99
    holder.get()
    assert len(wechat.calls) == 1
    clock.now += 1  # half its life gone
    holder.get()
    assert len(wechat.calls) == 2


def test_while_another_worker_refreshes_a_still_valid_token_is_served(
        holder: AccessTokenHolder, wechat: FakeWeChat, clock: FakeClock,
        redis_client: fakeredis.FakeRedis) -> None:
    holder.get()
    clock.now += 7000
    redis_client.set(LOCK_KEY, "another-worker")
    assert holder.get() == "token-1"
    assert len(wechat.calls) == 1


def test_a_failed_early_refresh_keeps_serving_the_still_valid_token(
        holder: AccessTokenHolder, wechat: FakeWeChat, clock: FakeClock,
        caplog: pytest.LogCaptureFixture) -> None:
    holder.get()
    clock.now += 7000
    wechat.failure = WeChatBusy("system error")
    assert holder.get() == "token-1"
    assert "early refresh failed (errcode -1)" in caplog.text


def test_a_failed_fetch_without_a_valid_token_raises(
        holder: AccessTokenHolder, wechat: FakeWeChat, clock: FakeClock) -> None:
    holder.get()
    clock.now += 7200
    wechat.failure = WeChatBusy("system error")
    with pytest.raises(WeChatBusy):
        holder.get()


def test_without_redis_the_token_is_fetched_directly(
        wechat: FakeWeChat, caplog: pytest.LogCaptureFixture) -> None:
    server = fakeredis.FakeServer()
    server.connected = False
    holder = AccessTokenHolder(wechat, fakeredis.FakeRedis(server=server), cache_key=CACHE_KEY)
    assert holder.get() == "token-1"
    assert "redis unavailable" in caplog.text


# --- the lock -----------------------------------------------------------------------------


def test_the_lock_is_released_after_a_fetch_whether_it_worked_or_not(
        holder: AccessTokenHolder, wechat: FakeWeChat, clock: FakeClock,
        redis_client: fakeredis.FakeRedis) -> None:
    holder.get()
    assert not redis_client.exists(LOCK_KEY)
    clock.now += 7200
    wechat.failure = WeChatBusy("system error")
    with pytest.raises(WeChatBusy):
        holder.get()
    assert not redis_client.exists(LOCK_KEY)


def test_a_lock_that_expired_and_was_taken_by_another_worker_is_left_alone(
        wechat: FakeWeChat, redis_client: fakeredis.FakeRedis) -> None:
    def slow_fetch(force_refresh: bool = False) -> tuple[str, int]:
        # Our lock timed out during the fetch and another worker took it.
        redis_client.set(LOCK_KEY, "another-worker")
        return wechat(force_refresh)

    AccessTokenHolder(slow_fetch, redis_client, cache_key=CACHE_KEY).get()
    assert redis_client.get(LOCK_KEY) == "another-worker"


def test_without_a_token_a_worker_waits_for_the_lock_owner_instead_of_fetching(
        wechat: FakeWeChat, redis_client: fakeredis.FakeRedis) -> None:
    owner_wechat = FakeWeChat()
    owner = AccessTokenHolder(owner_wechat, redis_client, cache_key=CACHE_KEY)
    redis_client.set(LOCK_KEY, "owner-is-fetching")

    def poll(seconds: float) -> None:
        # While we wait, the owner finishes: its lock goes, its token comes.
        redis_client.delete(LOCK_KEY)
        owner.get()

    waiter = AccessTokenHolder(wechat, redis_client, cache_key=CACHE_KEY, sleep=poll)
    assert waiter.get() == "token-1"
    assert (wechat.calls, owner_wechat.calls) == ([], [False])


def test_waiting_for_a_lock_owner_gives_up_after_wait_seconds(
        holder: AccessTokenHolder, redis_client: fakeredis.FakeRedis, wechat: FakeWeChat) -> None:
    redis_client.set(LOCK_KEY, "stuck-worker")
    with pytest.raises(WeChatUnavailable, match="timed out"):
        holder.get()
    assert wechat.calls == []


# --- refresh after a rejection ------------------------------------------------------------


def test_a_rejected_token_is_replaced_without_forcing_when_wechat_hands_out_a_new_one(
        holder: AccessTokenHolder, wechat: FakeWeChat) -> None:
    holder.get()
    assert holder.refresh_after_rejection("token-1") == "token-2"
    assert holder.get() == "token-2"
    assert wechat.calls == [False, False]


def test_a_rejected_token_wechat_hands_back_again_is_force_refreshed(
        holder: AccessTokenHolder, wechat: FakeWeChat) -> None:
    holder.get()
    wechat.same_token = True
    holder.refresh_after_rejection("token-1")
    assert wechat.calls == [False, False, True]


def test_a_rejected_token_another_worker_already_replaced_is_not_refreshed_again(
        holder: AccessTokenHolder, wechat: FakeWeChat) -> None:
    holder.get()
    assert holder.refresh_after_rejection("token-1") == "token-2"
    assert holder.refresh_after_rejection("token-1") == "token-2"
    assert len(wechat.calls) == 2


def test_force_refresh_replaces_the_cached_token(
        stub: StubServer, redis_client: fakeredis.FakeRedis) -> None:
    client = make_client(stub.url, redis_client)
    first = client.access_token()
    second = client.access_token(force_refresh=True)
    assert second != first
    assert client.access_token() == second


# --- several workers ----------------------------------------------------------------------


def test_concurrent_workers_ask_wechat_for_the_token_once(stub: StubServer) -> None:
    workers = 6
    server = fakeredis.FakeServer()
    everyone_else_waits = threading.Event()
    waiting: set[int] = set()
    guard = threading.Lock()

    def poll(seconds: float) -> None:
        with guard:
            waiting.add(threading.get_ident())
            if len(waiting) == workers - 1:
                everyone_else_waits.set()
        threading.Event().wait(seconds)

    def worker_holder() -> AccessTokenHolder:
        client = make_client(stub.url, fakeredis.FakeRedis(server=server, decode_responses=True))

        def fetch(force_refresh: bool = False) -> tuple[str, int]:
            # The lock owner answers only once all the others are waiting for it.
            assert everyone_else_waits.wait(5)
            return client.fetch_access_token(force_refresh)

        return AccessTokenHolder(fetch, fakeredis.FakeRedis(server=server, decode_responses=True),
                                 cache_key=CACHE_KEY, sleep=poll, poll_seconds=0.005)

    holders = [worker_holder() for _ in range(workers)]
    tokens = _run_together([holder.get for holder in holders])

    assert everyone_else_waits.is_set()
    assert len(tokens) == workers and len(set(tokens)) == 1
    assert calls(stub, STABLE_TOKEN) == 1


def test_clients_sharing_one_redis_share_one_token(stub: StubServer) -> None:
    server = fakeredis.FakeServer()
    clients = [make_client(stub.url, fakeredis.FakeRedis(server=server, decode_responses=True))
               for _ in range(8)]
    tokens = _run_together([client.access_token for client in clients])
    assert len(tokens) == 8 and len(set(tokens)) == 1
    assert calls(stub, STABLE_TOKEN) == 1


def _run_together(jobs: list[Callable[[], str]]) -> list[str]:
    """Start every job at the same moment in its own thread; their results."""
    start = threading.Barrier(len(jobs))
    results: list[str] = []
    errors: list[BaseException] = []

    def run(job: Callable[[], str]) -> None:
        start.wait()
        try:
            results.append(job())
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not errors, errors
    return results

