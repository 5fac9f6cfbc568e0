"""What can be listened to: audio input devices and MIDI input ports.

Used by `dessins-de-planche devices`, by the preflight check and by the input
process. It loads PortAudio and RtMidi, so the render process never imports it:
only short-lived helper processes and the input process do.
"""

from __future__ import annotations

from typing import NamedTuple

from dessins_de_planche.errors import DeviceNotFound
from dessins_de_planche.inputs.quiet import quiet_stderr




class AudioInput(NamedTuple):
    index: int
    name: str
    host_api: str
    channels: int
    default_rate: float


def list_audio_inputs() -> list[AudioInput]:
    """Every device with at least one input channel, as PortAudio sees it now."""
    import sounddevice as sd

    apis = sd.query_hostapis()
    found = []
    for index, device in enumerate(sd.query_devices()):
        if device["max_input_channels"] > 0:
            found.append(AudioInput(index, device["name"], apis[device["hostapi"]]["name"],
                                    int(device["max_input_channels"]), float(device["default_samplerate"])))
    return found


def rescan_audio() -> None:
    """Make PortAudio look for devices again (it scans only when initialised).

    Only call with no stream open.
    """
    import sounddevice as sd

    with quiet_stderr():
        sd._terminate()
        sd._initialize()


def _describe(inputs: list[AudioInput]) -> str:
    if not inputs:
        return "there are no audio inputs (is the audio server running?)"
    return "audio inputs: " + ", ".join(f"{d.index} {d.name!r} ({d.host_api}, {d.channels} ch)" for d in inputs)


def find_audio_device(name_or_index: str | int, inputs: list[AudioInput] | None = None) -> int:
    """The PortAudio index of an input device given by index, exact name or part of its name."""
    inputs = list_audio_inputs() if inputs is None else inputs
    wanted = name_or_index.strip() if isinstance(name_or_index, str) else name_or_index
    if isinstance(wanted, int) or wanted.isdigit():
        index = int(wanted)
        for device in inputs:
            if device.index == index:
                return index
        raise DeviceNotFound(f"no audio input device has index {index}; {_describe(inputs)}")
    exact = [d for d in inputs if d.name == wanted]
    if exact:
        return exact[0].index
    partial = [d for d in inputs if wanted.lower() in d.name.lower()]
    if len(partial) == 1:
        return partial[0].index
    if len(partial) > 1:
        names = ", ".join(f"{d.index} {d.name!r}" for d in partial)
        raise DeviceNotFound(f"audio device {wanted!r} matches several inputs: {names}; give the index or full name")
    raise DeviceNotFound(f"no audio input device matches {wanted!r}; {_describe(inputs)}")


def format_devices() -> str:
    """The text of `dessins-de-planche devices`."""
    lines = ["Audio inputs (use --audio-device NAME_OR_INDEX, --channels 1,2):"]
    from dessins_de_planche.inputs import probe

    try:
        inputs = probe.ask(list_audio_inputs)  # PortAudio may abort the process that loads it
    except (OSError, ImportError, probe.AudioSystemFailed) as error:  # PortAudio missing or crashed
        inputs = []
        lines.append(f"  audio unavailable: {error}")
    for device in inputs:
        lines.append(f"  {device.index:>3}  {device.name}  ({device.host_api}, {device.channels} in, "
                     f"{device.default_rate:g} Hz)")
    if not inputs and not lines[-1].startswith("  audio unavailable"):
        lines.append("  none (is the audio server running?)")
    lines.append("MIDI inputs (use --midi-port PART_OF_NAME, or --midi-port virtual):")
    from dessins_de_planche.inputs.midi import MISSING, list_midi_inputs, rtmidi

    apis = list_midi_inputs()
    if rtmidi is None:
        lines.append(f"  {MISSING}")
    for api, ports in apis:
        for port in ports:
            lines.append(f"  {api}: {port}")
        if not ports:
            lines.append(f"  {api}: no ports")
    if not apis and rtmidi is not None:
        lines.append("  none (no MIDI system answered)")
    return "\n".join(lines)
