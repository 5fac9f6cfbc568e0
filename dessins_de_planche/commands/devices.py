"""`devices`: what can be listened to."""

NAME = "devices"
ORDER = 20
HELP = "list audio inputs and MIDI ports"
DESCRIPTION = "List audio input devices (with host API and channels) and MIDI input ports."


def add_arguments(parser) -> None:
    pass


def main(args) -> int:
    from dessins_de_planche.inputs.devices import format_devices

    print(format_devices())
    return 0
