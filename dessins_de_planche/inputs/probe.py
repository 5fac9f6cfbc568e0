"""Ask the audio system a question in a short-lived child process.

PortAudio can abort the process that loads it (an assertion when ALSA's configuration is
missing) and a lookup can hang on a stuck server. Asked from a child, either becomes one
sentence for the user instead of a crash, or a start that never comes.
"""

from __future__ import annotations

import multiprocessing
import os
import signal

from dessins_de_planche.errors import UserError

ALSA_CONFIG = "/usr/share/alsa/alsa.conf"


class AudioSystemFailed(UserError):
    """The audio system crashed or stopped answering while we asked it something."""


def send_reply(sender, ok: bool, value) -> None:
    """Send a child's (ok, value) to the asker; an answer or error that does not pickle goes as its text."""
    try:
        sender.send((ok, value))
    except Exception:
        sender.send((False, RuntimeError(str(value))))


def _answer(sender, function, args) -> None:
    try:
        reply = (True, function(*args))
    except Exception as error:  # sent back to be raised in the asker
        reply = (False, error)
    send_reply(sender, *reply)
    sender.close()


def await_reply(receiver, child, timeout: float, what: str):
    """A spawned child's `send_reply`: its value, or its exception raised here, or
    `AudioSystemFailed` when the child dies or does not answer within `timeout` seconds."""
    if not receiver.poll(timeout):
        raise AudioSystemFailed(f"the audio system did not answer within {timeout:g} s while we asked for "
                                f"{what} (is the audio server stuck?)")
    try:
        ok, value = receiver.recv()
    except EOFError:  # the child died before answering
        child.join(5)
        raise AudioSystemFailed(crash_text(child.exitcode, what)) from None
    if not ok:
        raise value
    return value


def ask(function, *args, what: str = "the audio devices", timeout: float = 20.0):
    """`function(*args)` run in a spawned child; its value, or its exception raised here, or
    `AudioSystemFailed` when the child dies or does not answer within `timeout` seconds."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_answer, args=(sender, function, args), name="ddp-audio-probe", daemon=True)
    child.start()
    sender.close()
    try:
        return await_reply(receiver, child, timeout, what)
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join(5)


def crash_text(exitcode: int | None, what: str, doing: str = "we asked for") -> str:
    """Why asking for (`doing`) `what` killed the process, with the likely cause when we know it."""
    if exitcode is not None and exitcode < 0:
        try:
            how = f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            how = f"killed by signal {-exitcode}"
    else:
        how = f"exit code {exitcode}"
    text = f"the audio system (PortAudio) crashed while {doing} {what} ({how})"
    config = os.environ.get("ALSA_CONFIG_PATH", ALSA_CONFIG)
    if not os.path.exists(config):
        text += (f": ALSA's configuration {config} is missing (Debian and Ubuntu: install libasound2-data"
                 + ("; or unset ALSA_CONFIG_PATH" if "ALSA_CONFIG_PATH" in os.environ else "") + ")")
    return text
