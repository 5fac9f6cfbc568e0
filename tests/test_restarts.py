"""The back-off and the exit reasons that the input process's handle and the kiosk supervisor share."""

import signal

from dessins_de_planche.restarts import Backoff, describe_exit


def test_the_wait_doubles_while_a_child_keeps_failing_and_starts_over_after_a_healthy_life():
    backoff = Backoff(0.5, 5.0)
    assert [backoff.failed() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    assert backoff.failures == 6
    backoff.reset()
    assert backoff.failures == 0 and backoff.failed() == 0.5


def test_a_crash_loop_that_lasts_all_night_never_overflows_the_wait():
    backoff = Backoff(0.5, 60.0)
    for _ in range(5000):  # one failure every few seconds for hours
        delay = backoff.failed()
    assert delay == 60.0


def test_an_exit_reads_as_the_end_of_a_sentence_that_names_the_child():
    assert describe_exit(3) == "exited with code 3"
    assert describe_exit(-signal.SIGKILL) == "killed by SIGKILL"
    assert describe_exit(-99) == "killed by signal 99"
