"""The input process with one thread more that holds the GIL now and then, as an import or a long
C call in any of its threads would. Importable by name, so that a spawned input process finds it."""

import threading
import time


def hold_the_gil_now_and_then(hold_seconds: float = 0.008, every: float = 0.1) -> None:
    """`sum` over a range runs in C and never lets other threads in until it is done."""
    start = time.perf_counter()
    sum(range(100_000))
    count = int(100_000 * hold_seconds / (time.perf_counter() - start))
    while True:
        time.sleep(every)
        sum(range(count))


def input_process_holding_the_gil(*args) -> None:
    from dessins_de_planche.inputs.process import input_process_main

    threading.Thread(target=hold_the_gil_now_and_then, daemon=True).start()
    input_process_main(*args)
