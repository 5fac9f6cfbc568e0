"""Playlists and preset rotation: entries last their time or wait for the cue; files are checked."""

import pytest

from dessins_de_planche.control.playlist import Entry, Playlist, PlaylistError, load, rotation

NAMES = ["ink", "rosette", "thread"]


def test_timed_entries_advance_and_cue_entries_wait():
    playlist = Playlist([Entry("rosette", 60.0), Entry("thread", None), Entry("ink", 30.0)], loop=True)
    assert playlist.start(0.0) == "rosette"
    assert playlist.tick(59.0) is None and playlist.remaining(59.0) == pytest.approx(1.0)
    assert playlist.tick(60.5) == "thread"
    assert playlist.tick(10_000.0) is None and playlist.remaining(10_000.0) is None  # on cue: waits
    assert playlist.step(10_001.0) == "ink"  # the cue
    assert playlist.tick(10_031.5) == "rosette"  # loops


def test_a_playlist_that_does_not_loop_stops_at_its_end():
    playlist = Playlist([Entry("rosette", None), Entry("thread", None)], loop=False)
    playlist.start(0.0)
    assert playlist.step(1.0) == "thread" and playlist.step(2.0) is None and playlist.current.preset == "thread"


def test_rotation_cycles_every_preset():
    playlist = rotation(NAMES, minutes=0.5)
    playlist.start(0.0)
    assert [playlist.tick(30.0 * k + 0.1) for k in (1, 2, 3)] == ["rosette", "thread", "ink"]


def test_files_are_read_and_mistakes_name_the_entry(tmp_path):
    path = tmp_path / "show.toml"
    path.write_text('loop = false\n[[entry]]\npreset = "thread"\nminutes = 2\n[[entry]]\npreset = "ink"\n')
    playlist = load(path, NAMES)
    assert playlist.entries == [Entry("thread", 120.0), Entry("ink", None)] and not playlist.loop
    path.write_text('[[entry]]\npreset = "rosete"\n')
    with pytest.raises(PlaylistError, match=r"show.toml: entry 1: no preset named 'rosete'"):
        load(path, NAMES)
    path.write_text('[[entry]]\npreset = "ink"\nseconds = -3\n')
    with pytest.raises(PlaylistError, match="entry 1: a duration is a positive number"):
        load(path, NAMES)
