"""The `hyperchat` console script: migrate, create-user, reset-password, list-users."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).with_name("hyperchat")


@pytest.fixture
def run(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite://{tmp_path}/cli.sqlite3",
           "HYPERCHAT_DATA_DIR": str(tmp_path), "SECRET_KEY": "cli-test",
           "HYPERCHAT_ARGON2_TIME_COST": "1", "HYPERCHAT_ARGON2_MEMORY_COST": "1024",
           "HYPERCHAT_ARGON2_PARALLELISM": "1"}

    def run(*args, stdin=""):
        return subprocess.run([str(SCRIPT), *args], input=stdin, capture_output=True,
                              text=True, env=env, timeout=60)

    return run


def test_the_console_script_is_installed():
    assert SCRIPT.exists()


def test_create_list_and_reset(run):
    assert "accounts" in run("migrate").stdout
    assert run("migrate").stdout.strip() == "up to date"
    made = run("create-user", "Root", "--admin", "--email", "root@example.org",
               stdin="correct horse battery\n")
    assert made.returncode == 0 and made.stdout.strip() == "created admin Root (id 1)"
    taken = run("create-user", "ROOT", stdin="correct horse battery\n")
    assert taken.returncode == 1 and "taken" in taken.stderr
    listing = run("list-users").stdout.splitlines()
    assert listing[0].split() == ["id", "username", "role", "status", "created"]
    assert listing[1].split()[:4] == ["1", "Root", "admin", "active"]
    weak = run("reset-password", "root", stdin="short\n")
    assert weak.returncode == 1 and "at least 10" in weak.stderr
    reset = run("reset-password", "root", stdin="another fine secret\n")
    assert reset.returncode == 0 and "password of Root changed" in reset.stdout
    missing = run("reset-password", "nobody", stdin="another fine secret\n")
    assert missing.returncode == 1 and "no account named" in missing.stderr


def test_a_bad_setting_is_one_line(run, monkeypatch):
    monkeypatch.setenv("SIGNUP_POLICY", "sometimes")
    result = subprocess.run([str(SCRIPT), "list-users"], capture_output=True, text=True,
                            env={**os.environ, "HYPERCHAT_DATA_DIR": "/tmp"}, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().startswith("hyperchat: SIGNUP_POLICY='sometimes'")


def test_no_command_prints_usage(run):
    result = run()
    assert result.returncode == 2 and "serve" in result.stderr
