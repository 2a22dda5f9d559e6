"""The log redaction filter never calls the keyring: a keyring backend plugin that logs while
it loads (inside the secret store's lock) must not hang the process.

The plugin is a real ``keyring.backends`` entry point written to a temp folder and put on the
path of a fresh interpreter (keyring loads plugins once per process).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

PLUGIN = textwrap.dedent('''
    import logging

    def initialize():
        logging.getLogger("logging_keyring_plugin").warning("plugin loading; password=%s", "plug-in-secret")
''')

SCRIPT = textwrap.dedent('''
    import logging, sys
    from console.logs import setup_logging
    from console.paths import Paths
    from console.secrets import SecretStore

    paths = Paths.default().ensure()
    store = SecretStore("sandbox")
    store.set("smtp_password", "session-secret-1", session_only=True)
    source = {"redaction": store.redaction_values, "keyring": store.known_values}[sys.argv[1]]
    handler = setup_logging(paths, secret_source=source)
    store.secure  # loads the keyring backend (and the plugin) inside the store's lock
    logging.getLogger("after").warning("sent with session-secret-1")
    handler.flush()
    print("finished")
''')


def _plugin_folder(tmp_path):
    folder = tmp_path / "plugin"
    dist = folder / "logging_keyring_plugin-1.0.dist-info"
    dist.mkdir(parents=True)
    (folder / "logging_keyring_plugin.py").write_text(PLUGIN)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: logging-keyring-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[keyring.backends]\nlogs = logging_keyring_plugin:initialize\n")
    return folder


def _run(tmp_path, source: str, timeout: float) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("PYTHON_KEYRING_BACKEND", None)
    env["PYTHONPATH"] = os.pathsep.join([str(_plugin_folder(tmp_path)), env.get("PYTHONPATH", "")])
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")  # no keyringrc.cfg naming a backend
    return subprocess.run([sys.executable, "-c", SCRIPT, source], env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_a_plugin_that_logs_while_the_keyring_loads_does_not_hang(tmp_path, console_home):
    done = _run(tmp_path, "redaction", timeout=60)
    assert done.returncode == 0, done.stderr
    assert "finished" in done.stdout
    from console.paths import Paths

    text = Paths.default().log_file.read_text()
    assert "plugin loading" in text  # the plugin really logged during the load
    assert "plug-in-secret" not in text and "session-secret-1" not in text


def test_the_plugin_does_hang_a_filter_that_reads_the_keyring(tmp_path):
    """The reproduction is real: the old wiring (keyring read per record) deadlocks."""
    with pytest.raises(subprocess.TimeoutExpired):
        _run(tmp_path, "keyring", timeout=6)
