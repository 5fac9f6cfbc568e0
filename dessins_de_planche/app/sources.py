"""Where the window's records come from: the input process, a recorded session, or nothing
but OSC (an instance that draws what another one hears).

Each is a handle with the input process's face: `start`, `poll`, `status`, `stop`,
`zone_names`.
"""

from __future__ import annotations

import numpy as np

from dessins_de_planche.clock import master_time
from dessins_de_planche.events import FEATURE_DTYPE
from dessins_de_planche.inputs.handle import InputBatch
from dessins_de_planche.inputs.status import InputStatus


class SessionInputs:
    """A recorded session, replayed at the pace it was received (looping unless --no-loop)."""

    def __init__(self, folder, loop: bool = True):
        from dessins_de_planche.record.session import load_session

        self.folder = str(folder)
        self.session = load_session(folder)
        self.zone_names = self.session.zone_names
        self.loop = loop
        self.player = None
        self.running = False

    @property
    def session_start(self) -> float | None:
        return self.player.start if self.player is not None else None

    def start(self) -> "SessionInputs":
        from dessins_de_planche.record.session import SessionPlayer

        self.player = SessionPlayer(self.session, master_time(), loop=self.loop)
        self.running = True
        return self

    def poll(self) -> InputBatch:
        if self.player is None:
            return InputBatch.empty()
        taps, controls = self.player.due(master_time())
        return InputBatch(taps, np.zeros(0, FEATURE_DTYPE), controls)

    @property
    def status(self) -> InputStatus:
        finished = self.player is not None and self.player.finished
        return InputStatus(audio_state="off" if finished else "replay", device_name=self.folder, running=not finished)

    def stop(self) -> None:
        self.running = False


class NoInputs:
    """Nothing local: the taps arrive over OSC (`--listen-osc` with no device named)."""

    zone_names: tuple[str, ...] = ()
    running = True

    def start(self) -> "NoInputs":
        return self

    def poll(self) -> InputBatch:
        return InputBatch.empty()

    @property
    def status(self) -> InputStatus:
        return InputStatus(audio_state="off", running=True)

    def stop(self) -> None:
        pass


def open_inputs(spec, args):
    """The handle the window polls: a session folder given as --input, OSC only, or the input process."""
    from dessins_de_planche.record.session import is_session

    source = getattr(args, "input", None)
    if source and is_session(source):
        return SessionInputs(source, loop=not getattr(args, "no_loop", False))
    if getattr(args, "listen_osc", False) and spec.is_demo and not getattr(args, "generate", False):
        return NoInputs()
    from dessins_de_planche.inputs.handle import InputProcess

    return InputProcess(spec)
