"""The kiosk supervisor: runs the app as a child and restarts it when it dies or stops drawing.

The heartbeat is the health file's modification time (the app writes it about
once a second, only while frames advance). A child that exits, or whose
heartbeat is older than `heartbeat_timeout`, is restarted after a back-off that
doubles while it keeps failing quickly, and resets once a child has lived
`healthy_after` seconds (`restarts.Backoff`, as for the input process); after
`max_failures` quick failures in a row the supervisor gives up (exit 1) and
leaves it to systemd or a person. A child that exits 0 was asked to quit (the
key chord): the supervisor ends too. Every restart is logged with its reason.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from dessins_de_planche.restarts import Backoff, describe_exit

log = logging.getLogger("dessins_de_planche.supervisor")


@dataclass
class Policy:
    heartbeat_timeout: float = 10.0  # seconds without a frame before the app counts as hung
    startup_grace: float = 60.0  # seconds a new child may take to draw its first frame
    backoff_min: float = 0.5
    backoff_max: float = 60.0
    healthy_after: float = 60.0  # a child that lived this long resets the back-off
    max_failures: int = 10  # quick failures in a row before giving up


class Supervisor:
    def __init__(self, command: list[str], health_file, policy: Policy | None = None, env: dict | None = None):
        self.command = list(command)
        self.health_file = Path(health_file)
        self.policy = policy or Policy()
        self.env = env
        self.stop_event = threading.Event()
        self.child: subprocess.Popen | None = None
        self.starts = 0
        self.backoff = Backoff(self.policy.backoff_min, self.policy.backoff_max)

    @property
    def failures(self) -> int:
        """Quick failures in a row (a child that lived `healthy_after` counts as the first of a new row)."""
        return self.backoff.failures

    def stop(self, *_signal) -> None:
        self.stop_event.set()

    def _heartbeat_age(self, started: float) -> float | None:
        """Seconds since the child's last frame (None: it has not drawn one yet)."""
        try:
            mtime = self.health_file.stat().st_mtime
        except OSError:
            return None
        if mtime < started:  # an old child's file
            return None
        return time.time() - mtime

    def _start(self) -> float:
        self.starts += 1
        self.child = subprocess.Popen(self.command, env=self.env)
        log.info("started the app (pid %d, start %d): %s", self.child.pid, self.starts, " ".join(self.command))
        return time.time()

    def _end_child(self, timeout: float = 5.0) -> None:
        child = self.child
        if child is None or child.poll() is not None:
            return
        child.terminate()
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("the app (pid %d) did not stop on SIGTERM; killing it", child.pid)
            child.kill()
            child.wait(5.0)

    def _watch(self, started: float) -> str | None:
        """Wait while the child is healthy; return why it is no longer (None: asked to stop)."""
        policy = self.policy
        while not self.stop_event.wait(0.1):
            code = self.child.poll()
            if code is not None:
                return describe_exit(code)
            age = self._heartbeat_age(started)
            if age is None:
                if time.time() - started > policy.startup_grace:
                    self._end_child()
                    return f"drew no frame in its first {policy.startup_grace:.0f} s"
            elif age > policy.heartbeat_timeout:
                self._end_child()
                return f"stopped producing frames ({age:.1f} s since the last one)"
        return None

    def run(self) -> int:
        policy = self.policy
        while not self.stop_event.is_set():
            started = self._start()
            reason = self._watch(started)
            if reason is None:  # asked to stop
                self._end_child()
                log.info("supervisor stopping; the app is stopped")
                return 0
            lived = time.time() - started
            if self.child.returncode == 0:
                log.info("the app quit on request after %.1f s; the supervisor ends too", lived)
                return 0
            if lived >= policy.healthy_after:
                self.backoff.reset()
            delay = self.backoff.failed()
            if self.failures > policy.max_failures:
                log.error("the app %s after %.1f s; %d quick failures in a row: giving up",
                          reason, lived, self.failures - 1)
                return 1
            log.warning("the app %s after %.1f s; restarting in %.1f s", reason, lived, delay)
            if self.stop_event.wait(delay):
                break
        return 0


def install_signal_handlers(supervisor: Supervisor) -> None:
    signal.signal(signal.SIGTERM, supervisor.stop)
    signal.signal(signal.SIGINT, supervisor.stop)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, supervisor.stop)


def default_health_file() -> Path:
    from platformdirs import user_state_dir

    return Path(user_state_dir("dessins-de-planche")) / "health.json"


def environment() -> dict:
    return {**os.environ, "PYTHONUNBUFFERED": "1"}
