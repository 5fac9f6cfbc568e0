"""Check, before any window opens, that the devices named on the command line exist.

The lookup runs in a short-lived child process (`inputs.probe`): loading PortAudio in the
render process would tie it to the audio server (PortAudio can abort a process whose
server vanishes, or whose ALSA configuration is missing), and that is the input process's
risk to take, not the window's.
"""

from __future__ import annotations

from dessins_de_planche.config import InputSpec
from dessins_de_planche.errors import DeviceNotFound
from dessins_de_planche.inputs import probe


def _lookup(spec: InputSpec) -> str | None:
    """Runs in the child: None if every named device exists, else the one-line complaint."""
    from dessins_de_planche.inputs import devices, midi

    try:
        if spec.midi_port is not None:
            from dessins_de_planche.inputs.midi import MISSING, rtmidi

            if rtmidi is None:
                return MISSING
        if spec.audio_device is not None:
            inputs = devices.list_audio_inputs()
            index = devices.find_audio_device(spec.audio_device, inputs)
            device = next(d for d in inputs if d.index == index)
            wanted = max(spec.channels or (1,))
            if wanted > device.channels:
                return (f"audio device {device.name!r} has {device.channels} input channel"
                        f"{'s' if device.channels != 1 else ''}; --channels asks for channel {wanted}")
        if spec.midi_port is not None and spec.midi_port != "virtual":
            ports = [name for _api, names in midi.list_midi_inputs() for name in names]
            if not any(spec.midi_port.lower() in name.lower() for name in ports):
                listed = ", ".join(repr(p) for p in ports) or "none"
                return f"no MIDI input port matches {spec.midi_port!r}; ports: {listed} (or use --midi-port virtual)"
    except Exception as error:  # DeviceNotFound from the device module, or PortAudio missing
        return str(error)
    return None


def check_devices_exist(spec: InputSpec) -> None:
    if spec.audio_device is None and spec.midi_port is None:
        return
    problem = probe.ask(_lookup, spec, what="the devices named on the command line")
    if problem:
        raise DeviceNotFound(problem)
