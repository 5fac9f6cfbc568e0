"""The key table: every key is listed with what it does, none does two things, the chord parses."""

import pytest

from dessins_de_planche.app.keys import DEFAULT_BINDINGS, KeyTable, KeyTableError, parse_chord
from dessins_de_planche.app.actions import ACTIONS, midi_functions


def test_every_bound_action_exists_and_is_described():
    for key, action in DEFAULT_BINDINGS:
        assert action in ACTIONS, f"key {key!r} runs {action!r}, which the console does not know"
        assert ACTIONS[action].help.strip()


def test_every_action_on_the_help_has_a_key_and_the_others_are_for_midi_and_osc():
    bound = {action for _, action in DEFAULT_BINDINGS}
    helped = {name for name, action in ACTIONS.items() if action.help}
    assert helped <= bound, helped - bound
    assert set(ACTIONS) - helped == {"dimmer", "cue"} <= set(midi_functions())


def test_the_window_s_own_keys_are_in_the_one_table():
    """p and e were the window's keys, adopted by the stage; now the one table binds them."""
    table = KeyTable()
    assert table.keys_for("save_picture") == ["p"] and table.keys_for("dismiss_errors") == ["e"]
    assert not {"save_picture", "dismiss_errors", "escape", "learn", "help"} & set(midi_functions())


def test_no_key_does_two_things():
    keys = [key for key, _ in DEFAULT_BINDINGS]
    assert len(keys) == len(set(keys))
    table = KeyTable()
    with pytest.raises(KeyTableError, match="already"):
        table.bind("c", "blackout")


def test_the_issue_s_keys_are_there():
    table = KeyTable()
    for action in ("next", "previous", "preset1", "preset9", "clear", "undo", "freeze", "blackout", "tap_tempo",
                   "hud", "help", "fullscreen"):
        assert table.keys_for(action), action
    assert table.keys_for("help") == ["?", "f1"]


def test_chords():
    chord = parse_chord("Ctrl+Alt+Q")
    assert chord.modifiers == ("ctrl", "alt") and chord.key == "q" and str(chord) == "ctrl+alt+q"
    with pytest.raises(KeyTableError, match="unknown modifier 'hyper'"):
        parse_chord("hyper+q")
