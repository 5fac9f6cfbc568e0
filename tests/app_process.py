"""Start the real app as a child process (under Xvfb) and watch it through its health file."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import time

import rig

# an app is watched through files, screenshots and its log: looked at less often than a ring
wait_for = functools.partial(rig.wait_for, interval=0.05)


class App:
    """`dessins-de-planche <command> ...` with DISPLAY set; stderr kept in a file for the assertion messages."""

    def __init__(self, display: str, tmp_path, *args, command: str = "run", env=None):
        self.health = tmp_path / f"health-{time.monotonic_ns()}.json"
        self.log = tmp_path / f"app-{time.monotonic_ns()}.log"
        health = ["--health-file", str(self.health)] if command == "run" else []
        self.args = [sys.executable, "-m", "dessins_de_planche", command, *health, *args]
        self._log_file = open(self.log, "w")
        self.process = subprocess.Popen(self.args, stdout=self._log_file, stderr=subprocess.STDOUT,
                                        env={**os.environ, "DISPLAY": display, "LANGUAGE": "en", **(env or {})})

    def state(self) -> dict:
        try:
            return json.loads(self.health.read_text())
        except (OSError, ValueError):
            return {}

    def output(self) -> str:
        self._log_file.flush()
        return self.log.read_text(errors="replace")

    def wait_state(self, predicate, deadline: float = 30.0, what: str = "app state"):
        def check():
            if self.process.poll() is not None:
                raise AssertionError(f"the app exited ({self.process.returncode}) while waiting for {what}:\n"
                                     + self.output()[-3000:])
            state = self.state()
            return state if state and predicate(state) else None

        return wait_for(check, deadline, what)

    def frames_advance(self, deadline: float = 30.0) -> dict:
        first = self.wait_state(lambda s: s.get("frames", 0) > 0, deadline, "a first frame")
        return self.wait_state(lambda s: s["frames"] > first["frames"], deadline, "more frames")

    def stop(self, timeout: float = 20.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._log_file.close()
        return self.process.returncode
