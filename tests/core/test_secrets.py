"""The installation's key files: made once, whole, and the same for everyone who asks."""

from __future__ import annotations

import stat
import threading

from lms.core.security import read_or_create_secret


def test_processes_starting_at_once_all_read_one_whole_key(tmp_path):
    path = tmp_path / "instance" / "pii_key"
    made = iter(range(1000))
    barrier = threading.Barrier(8)
    keys: list[bytes] = []

    def start() -> None:
        barrier.wait()
        # A slow maker widens the moment between creating the file and filling it.
        keys.append(read_or_create_secret(path, lambda: b"key-%03d" % next(made) + b"0" * 40))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(keys) == 8 and len(set(keys)) == 1 and keys[0].startswith(b"key-")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["pii_key"]  # no temporary left
    assert read_or_create_secret(path, lambda: b"another") == keys[0]
