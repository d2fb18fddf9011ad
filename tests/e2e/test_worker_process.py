"""The embedded default runs the background worker as a child process of the app (not a thread in it), and
the child ends with the app."""

from __future__ import annotations

import os
import time
from pathlib import Path

from browser_support import streamlit_server


def _worker_children(parent_pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"worker" in cmd and b"--parent-pid" in cmd and cmd[cmd.index(b"--parent-pid") + 1] == str(
                parent_pid).encode():
            found.append(int(entry.name))
    return found


def _server_pid(url: str) -> int:
    port = url.rsplit(":", 1)[1].encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"streamlit" in b" ".join(cmd) and port in cmd:
                return int(entry.name)
    raise AssertionError(f"no streamlit process on port {port!r}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return Path(f"/proc/{pid}/status").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text()


def test_app_starts_one_worker_child_that_ends_with_the_app(browser, tmp_path):
    url_db = f"sqlite:///{tmp_path / 'hub.db'}"
    with streamlit_server(url_db, tmp_path) as url:
        server_pid = _server_pid(url)
        page = browser.new_page()
        page.goto(url)
        page.get_by_role("textbox", name="Password").wait_for(timeout=120_000)
        deadline = time.time() + 30
        while time.time() < deadline and not _worker_children(server_pid):
            time.sleep(0.5)
        children = _worker_children(server_pid)
        assert len(children) == 1, children
        page.reload()
        page.get_by_role("textbox", name="Password").wait_for(timeout=60_000)
        assert _worker_children(server_pid) == children  # once per server process, not per session or run
        page.close()
    deadline = time.time() + 40
    while time.time() < deadline and _alive(children[0]):
        time.sleep(0.5)
    assert not _alive(children[0])
