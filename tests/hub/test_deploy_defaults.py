"""Deployment defaults: demo users on a server database get a random password printed once (never the
published demo password); the embedded SQLite demo keeps the published one."""

from __future__ import annotations

import pytest

from hub import auth, bootstrap, demo


def _no_wait(_s: float) -> None:
    return None


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_server_demo_gets_a_random_password_printed_once(database_url, monkeypatch):
    monkeypatch.setenv("HUB_DEMO", "1")
    said: list[str] = []
    engine, sf = bootstrap.prepare(database_url, announce=said.append)
    try:
        assert len(said) == 1 and "random password" in said[0]
        password = said[0].split("(shown once):")[1].split()[0]
        assert len(password) >= 16 and password != demo.DEMO_PASSWORD
        assert not auth.attempt_login(sf, "admin", demo.DEMO_PASSWORD, sleep=_no_wait).ok
        assert auth.attempt_login(sf, "chair", password, sleep=_no_wait).ok
        said.clear()
        bootstrap.prepare(database_url, announce=said.append)[0].dispose()  # already seeded: nothing printed
        assert said == []
    finally:
        engine.dispose()


def test_embedded_demo_keeps_the_published_password(tmp_path, monkeypatch):
    monkeypatch.setenv("HUB_DEMO", "1")
    said: list[str] = []
    engine, sf = bootstrap.prepare(f"sqlite:///{tmp_path / 'hub.db'}", announce=said.append)
    try:
        assert said == []
        assert auth.attempt_login(sf, "gp.north", demo.DEMO_PASSWORD, sleep=_no_wait).ok
    finally:
        engine.dispose()
