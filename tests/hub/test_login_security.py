"""Lockout under parallel attempts (one atomic UPDATE per attempt), the growing delay, bcrypt cost and
re-hashing, and sessions that end when the password is reset. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import bcrypt
from sqlalchemy import select, update

from db.models import AuditEvent, User, utcnow
from hub import audit, auth, users
from tests_support import TEST_PASSWORD


def _no_wait(_seconds: float) -> None:
    return None


def _parallel(calls):
    """Run the callables at the same moment (a barrier), each in its own thread; results in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    errors: list = []

    def run(i, fn):
        try:
            barrier.wait()
            results[i] = fn()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    return results


def _state(sf, username):
    with sf() as s:
        u = s.scalar(select(User).where(User.username == username))
        return u.failed_login_attempts, u.locked


def test_twelve_parallel_wrong_passwords_count_twelve_and_lock(world):
    outcomes = _parallel([lambda: auth.attempt_login(world.sf, "pcp.a", f"wrong-{i}", sleep=_no_wait)
                          for i in range(12)])
    assert not any(o.ok for o in outcomes)
    # every attempt saw the count its own increment produced: 1..12, each once
    assert sorted(o.failed_attempts for o in outcomes) == list(range(1, 13))
    assert sum(o.newly_locked for o in outcomes) == 1
    assert _state(world.sf, "pcp.a") == (12, True)
    with world.sf() as s:
        actions = Counter(s.scalars(select(AuditEvent.action).where(AuditEvent.entity == "user",
                                                                    AuditEvent.entity_id == str(world.pcp_a.user_id))))
    assert actions["login.failed"] == 12 and actions["user.locked"] == 1
    assert audit.verify(world.sf).ok  # 13 appends in parallel, one chain


def test_right_password_in_parallel_with_wrong_ones_never_logs_into_a_locked_account(world):
    # Already locked: 11 wrong + the right password together never log in.
    for _ in range(5):
        auth.attempt_login(world.sf, "physio", "wrong", sleep=_no_wait)
    calls = [lambda: auth.attempt_login(world.sf, "physio", "wrong", sleep=_no_wait) for _ in range(11)]
    calls.insert(6, lambda: auth.attempt_login(world.sf, "physio", TEST_PASSWORD, sleep=_no_wait))
    outcomes = _parallel(calls)
    assert not outcomes[6].ok and outcomes[6].locked
    assert _state(world.sf, "physio") == (16, True)


def test_right_password_racing_eleven_wrong_logs_in_only_before_the_lock(world):
    max_attempts = 5
    for _ in range(3):  # several races; the interleaving differs from round to round
        with world.sf.begin() as s:
            s.execute(update(User).where(User.username == "pcp.b").values(failed_login_attempts=0, locked=False))
        calls = [lambda: auth.attempt_login(world.sf, "pcp.b", "wrong", sleep=_no_wait) for _ in range(11)]
        calls.append(lambda: auth.attempt_login(world.sf, "pcp.b", TEST_PASSWORD, sleep=_no_wait))
        outcomes = _parallel(calls)
        right, wrong = outcomes[-1], outcomes[:-1]
        counts = Counter(o.failed_attempts for o in wrong)
        failed, locked = _state(world.sf, "pcp.b")
        assert locked  # 11 wrong passwords lock the account whatever the order
        if right.ok:
            # the success reset the count once: k wrong before it (k below the threshold), 11 - k after
            k = sum(1 for c in counts.values() if c == 2)
            assert k < max_attempts
            assert failed == 11 - k and max(counts) == 11 - k
        else:
            assert sorted(counts) == list(range(1, 12)) and failed == 11


def test_failed_logins_wait_longer_each_time():
    delays = [auth.login_delay(n) for n in range(0, 8)]
    assert delays[0] == 0 and delays[1] == 0.5
    assert all(a < b for a, b in zip(delays[1:5], delays[2:6]))
    assert max(auth.login_delay(n) for n in range(100)) == auth.MAX_LOGIN_DELAY_S


def test_attempt_login_sleeps_the_growing_delay(world):
    waited: list[float] = []
    for _ in range(3):
        auth.attempt_login(world.sf, "chair", "nope", sleep=waited.append)
    assert waited == [0.5, 1.0, 2.0]
    waited.clear()
    assert auth.attempt_login(world.sf, "chair", TEST_PASSWORD, sleep=waited.append).ok and waited == []
    assert _state(world.sf, "chair") == (0, False)  # a success resets the count
    auth.attempt_login(world.sf, "no-such-user", "x", sleep=waited.append)
    assert waited == [0.5]  # unknown users wait like a first failure


def test_bcrypt_cost_at_least_12_and_older_hashes_rehashed_at_login(world, app_bcrypt_cost):
    assert app_bcrypt_cost >= 12
    assert auth.hash_rounds(auth.hash_password("something-long")) == app_bcrypt_cost
    old = bcrypt.hashpw(b"an-old-password-1", bcrypt.gensalt(rounds=10)).decode()
    with world.sf.begin() as s:
        s.execute(update(User).where(User.id == world.pcp_a.user_id).values(password_hash=old))
    outcome = auth.attempt_login(world.sf, "pcp.a", "an-old-password-1", sleep=_no_wait)
    assert outcome.ok and outcome.rehashed
    with world.sf() as s:
        new = s.scalar(select(User.password_hash).where(User.id == world.pcp_a.user_id))
    assert new != old and auth.hash_rounds(new) == auth.BCRYPT_ROUNDS
    assert auth.check_password("an-old-password-1", new)
    again = auth.attempt_login(world.sf, "pcp.a", "an-old-password-1", sleep=_no_wait)
    assert again.ok and not again.rehashed


def test_open_session_ends_when_the_password_is_reset(world):
    with world.sf.begin() as s:
        s.get(User, world.pcp_a.user_id).sessions_valid_after = utcnow() - timedelta(minutes=10)
    login_at = utcnow()
    assert auth.actor_for(world.sf, "pcp.a", login_at) is not None
    users.reset_password(world.sf, world.admin, world.pcp_a.user_id, "reset-by-the-admin")
    assert auth.actor_for(world.sf, "pcp.a", login_at) is None  # the open session's next run
    assert auth.actor_for(world.sf, "pcp.a", utcnow()) is not None  # a new login after the reset
