"""A real OpenSSH server for the SFTP tests: `/usr/sbin/sshd` on a free port of 127.0.0.1.

Choice (documented in README "EDI trading"): the server runs as the current user and the hub logs
in as that same user with a key. Password logins need a real account with a password, which a
test should not create: `.ci/run` makes one (`dropnet-sftp`, a fresh random password each run)
and names it in SFTP_TEST_USER / SFTP_TEST_PASSWORD; `password_login()` skips without them and
fails under REQUIRE_SFTP=1. Running as root, the session is
chrooted into a temporary folder (ChrootDirectory needs every path component owned by root and
not writable by others, so it is made under the home folder rather than /tmp); as another user,
sshd cannot chroot and internal-sftp starts in that folder instead. `UsePAM no` and
`StrictModes no` keep the system's PAM and file-mode rules out of the way.

The fixture skips when sshd is absent, and fails instead under REQUIRE_SFTP=1 (CI).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

SSHD = "/usr/sbin/sshd"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def keygen(path: Path) -> tuple[str, str]:
    """(private key text, public key "<type> <base64>")."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    public = path.with_suffix(".pub").read_text().split()
    return path.read_text(), f"{public[0]} {public[1]}"


@dataclass
class SshServer:
    port: int
    root: Path  # the SFTP root as a local folder: tests drop and read partner files here
    username: str
    private_key: str
    host_key: str
    config_dir: Path
    process: subprocess.Popen | None = None

    def start(self) -> None:
        chroot = os.geteuid() == 0
        (self.config_dir / "sshd_config").write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {self.config_dir / 'host_key'}",
                    f"PidFile {self.config_dir / 'sshd.pid'}",
                    "UsePAM no",
                    "StrictModes no",
                    f"AuthorizedKeysFile {self.config_dir / 'authorized_keys'}",
                    "PasswordAuthentication yes",
                    "KbdInteractiveAuthentication no",
                    "PermitRootLogin prohibit-password",
                    "Subsystem sftp internal-sftp",
                    f"ForceCommand internal-sftp -d {'/' if chroot else self.root}",
                    *([f"ChrootDirectory {self.root}"] if chroot else []),
                    "LogLevel ERROR",
                    "",
                ]
            )
        )
        if chroot:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege-separation folder
        log = self.config_dir / "sshd.log"
        with log.open("ab") as sink:
            self.process = subprocess.Popen(
                [SSHD, "-D", "-e", "-f", str(self.config_dir / "sshd_config")],
                stdout=subprocess.DEVNULL,
                stderr=sink,
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sshd exited: {log.read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("sshd did not listen within 10 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def new_host_key(self) -> str:
        """Restart with another host key (a re-installed server, or someone in the middle)."""
        self.stop()
        for name in ("host_key", "host_key.pub"):
            (self.config_dir / name).unlink()
        _, self.host_key = keygen(self.config_dir / "host_key")
        self.start()
        return self.host_key

    def folder(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(exist_ok=True)
        return path


def password_login() -> tuple[str, str]:
    """The account `.ci/run` made for password logins, as (username, password)."""
    user, password = os.environ.get("SFTP_TEST_USER"), os.environ.get("SFTP_TEST_PASSWORD")
    if not (user and password and os.geteuid() == 0):
        reason = (
            "password logins need root and the account .ci/run makes (SFTP_TEST_USER, SFTP_TEST_PASSWORD)"
        )
        if os.environ.get("REQUIRE_SFTP") == "1":
            pytest.fail(f"REQUIRE_SFTP=1 but {reason}")
        pytest.skip(reason)
    return user, password


def open_to_others(server: SshServer) -> None:
    """Let another account than the server's use the SFTP root (the chroot itself stays root's)."""
    server.root.chmod(0o755)
    for name in ("in", "out", "archive"):
        server.folder(name).chmod(0o777)


def sshd_server(tmp_path: Path):
    """Start a server (generator for a pytest fixture); skips without sshd unless REQUIRE_SFTP=1."""
    if not (os.path.exists(SSHD) and shutil.which("ssh-keygen")):
        if os.environ.get("REQUIRE_SFTP") == "1":
            pytest.fail("REQUIRE_SFTP=1 but OpenSSH's sshd (openssh-server) is not installed")
        pytest.skip("the SFTP tests need OpenSSH's sshd (Debian openssh-server)")
    config_dir = tmp_path / "sshd"
    config_dir.mkdir()
    _, host_key = keygen(config_dir / "host_key")
    private_key, public_key = keygen(config_dir / "client_key")
    (config_dir / "authorized_keys").write_text(public_key + "\n")
    if os.geteuid() == 0:
        base = Path.home() / ".cache"
        base.mkdir(mode=0o700, exist_ok=True)
        root = Path(tempfile.mkdtemp(prefix="dropnet-sftp-", dir=base))
    else:
        root = tmp_path / "sftp-root"
        root.mkdir()
    server = SshServer(
        port=free_port(),
        root=root,
        username=os.environ.get("USER") or __import__("pwd").getpwuid(os.geteuid()).pw_name,
        private_key=private_key,
        host_key=host_key,
        config_dir=config_dir,
    )
    for name in ("in", "out"):
        server.folder(name)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
