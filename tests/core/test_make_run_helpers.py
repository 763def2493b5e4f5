"""Helpers of `make run`: the host names it answers to, and its key files."""

from __future__ import annotations

import socket
import stat

from apps.core.management.commands.montage_run import _allowed_hosts
from studio import keyfiles


def test_the_studio_answers_to_localhost_and_the_address_it_binds_to():
    assert {"localhost", "127.0.0.1", "[::1]"} <= set(_allowed_hosts("127.0.0.1"))
    assert "192.168.1.20" in _allowed_hosts("192.168.1.20")
    assert "[fd00::5]" in _allowed_hosts("fd00::5")
    everywhere = _allowed_hosts("0.0.0.0")
    assert socket.gethostname() in everywhere and "0.0.0.0" not in everywhere


def test_a_key_file_is_made_once_private_and_then_kept(tmp_path):
    made = []

    def make():
        made.append(1)
        return f"key-{len(made)}"

    path = tmp_path / "var" / "secret"
    assert keyfiles.read_or_create(path, make) == "key-1"
    assert keyfiles.read_or_create(path, make) == "key-1"
    assert made == [1]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["secret"]  # no temporary files left

    path.write_text("")  # emptied by hand: a new key is made
    assert keyfiles.read_or_create(path, make) == "key-2"


def test_the_credentials_key_file_may_hold_several_keys_newest_first(tmp_path):
    first = keyfiles.credentials_key(tmp_path)
    assert len(first.split(",")) == 1
    newer = keyfiles.new_fernet_key()
    (tmp_path / keyfiles.CREDENTIALS_KEY_FILE).write_text(f"{newer}\n{first}\n")
    assert keyfiles.credentials_key(tmp_path) == f"{newer},{first}"
