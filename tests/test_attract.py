"""Attract mode: the wall draws by itself after a quiet while, and the first real tap takes over."""

from dessins_de_planche.app.attract import Attract


def test_attract_starts_after_the_quiet_time_and_a_real_tap_takes_over():
    attract = Attract(after_seconds=60.0, bpm=120.0)
    taps, _ = attract.update(0.0, real_taps=1, waiting_for_device=False)
    assert len(taps) == 0 and not attract.active
    taps, _ = attract.update(59.0, 0, False)
    assert not attract.active
    attract.update(60.5, 0, False)
    assert attract.active
    drawn = sum(len(attract.update(60.5 + 0.1 * k, 0, False)[0]) for k in range(1, 51))  # five seconds
    assert 15 <= drawn <= 25  # two taps a beat at 120 BPM, a phrase's breath aside
    taps, took_over = attract.update(66.0, real_taps=1, waiting_for_device=False)
    assert took_over and not attract.active and len(taps) == 0


def test_a_kiosk_waiting_for_its_device_draws_at_once_and_attract_can_be_off():
    attract = Attract(after_seconds=180.0)
    attract.update(0.0, 0, waiting_for_device=True)
    assert attract.active
    off = Attract(after_seconds=None)
    for t in range(0, 10_000, 100):
        off.update(float(t), 0, waiting_for_device=True)
    assert not off.active


def test_attract_taps_are_heel_and_toe_on_a_grid():
    from dessins_de_planche.events import KIND_HEEL, KIND_TOE

    attract = Attract(after_seconds=0.0, bpm=120.0)
    attract.update(0.0, 0, False)
    taps, _ = attract.update(4.0, 0, False)
    assert set(taps["kind"]) == {KIND_HEEL, KIND_TOE}
    gaps = taps["time"][1:] - taps["time"][:-1]
    assert abs(float(gaps.mean()) - 0.25) < 0.02 and (taps["velocity"] > 0).all() and (taps["refine"] == 0).all()
