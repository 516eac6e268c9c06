"""What the warm worker's forks rely on: no lock that another thread of the worker holds at
the fork, which would stay held in the child for ever (flows/warm_worker.py).

- Pydantic builds a deferred model under one lock shared by every model; a fork taken while
  another thread of the worker held it waited for that lock for ever (a 1C exchange's
  preparation run stuck in Submitting, seen in bench/production_load.py). The worker builds
  every known model before each fork.
- The event loop's thread writes the worker's log; a fork taken while it was inside a write
  left the stream's lock held in the child, whose first log line waited for ever. The worker
  forks while that thread waits."""
import asyncio
import multiprocessing
import os
import signal
import threading
import time

import pydantic

from flows import warm_worker


def _models():
    classes, seen = pydantic.BaseModel.__subclasses__(), []
    while classes:
        cls = classes.pop()
        classes.extend(cls.__subclasses__())
        seen.append(cls)
    return seen


def test_before_a_fork_every_model_the_worker_knows_is_built():
    warm_worker._models_built()  # Prefect leaves hundreds of its models to be built on first use

    assert [cls for cls in _models() if not cls.__pydantic_complete__] == []


def test_a_fork_waits_until_the_event_loops_thread_is_out_of_a_write():
    """The loop's thread is stuck inside a write to a full pipe, holding the stream's lock,
    when a run is forked; the child, writing to the same stream, must not inherit the lock."""
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    try:
        while True:
            os.write(write_end, b"." * 65536)  # fill the pipe: the next write blocks
    except BlockingIOError:
        os.set_blocking(write_end, True)
    log = open(write_end, "w", buffering=8192)  # the worker's log: a buffered stream, with a lock
    loop = asyncio.new_event_loop()
    loop_thread = threading.Thread(target=loop.run_forever, daemon=True)
    loop_thread.start()
    loop.call_soon_threadsafe(lambda: (log.write("the worker logs a line\n" * 1000), log.flush()))
    time.sleep(0.5)  # the loop's thread is in the write, holding the lock

    def reader():  # the log's reader catches up a little later
        time.sleep(0.5)
        while os.read(read_end, 65536):
            pass

    threading.Thread(target=reader, daemon=True).start()

    def run(log=log):  # the child: its first log line, within 10 s or it is killed
        signal.alarm(10)
        log.write("the run begins\n")
        log.flush()
        os._exit(0)

    process = multiprocessing.get_context("fork").Process(target=run)
    try:
        warm_worker._start(loop, process)
        process.join(30)
        assert process.exitcode == 0, f"the forked run's first log line waited for ever (exit code {process.exitcode})"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        loop_thread.join(5)
        log.close()
        os.close(read_end)
