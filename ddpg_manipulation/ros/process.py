# Copyright 2026 The ddpg_manipulation Authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""
How a node process meets Ctrl-C, SIGINT and SIGTERM: it stops gracefully and exits 0 (no rclpy).

A node executable runs its ``main`` through :func:`guarded_main`, which

* installs the stop handlers first, before the node module and its heavy imports (torch,
  MuJoCo, rclpy) load, so that a signal at any moment sets :class:`StopFlag` instead of raising
  ``KeyboardInterrupt`` in whatever happens to run;
* turns a ``KeyboardInterrupt`` that still escapes (from a library that installed Python's
  default handler again) into a clean exit;
* ignores SIGINT and SIGTERM once ``main`` has returned. Python resets handlers to the
  default while the interpreter tears down, and a SIGINT that lands then kills the process:
  ``ros2 launch`` reports exit code -2. Under launch a node can get SIGINT twice, from the
  terminal's Ctrl-C and from launch itself (``--noninteractive``, ``ShutdownProcess``, a
  second Ctrl-C), and a node with little to release (one that failed to configure) reaches its
  teardown just as the second one arrives.

rclpy is initialized without its own signal handlers (``SignalHandlerOptions.NO``, see
``node_support``), so these are the only ones.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Callable

#: Exit codes of the node executables.
EXIT_OK, EXIT_FAILURE, EXIT_BAD_PARAMETER = 0, 1, 2

#: The signals that ask a node to stop: Ctrl-C / launch (SIGINT), launch's escalation and
#: service managers (SIGTERM).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopFlag:
    """Set by SIGINT/SIGTERM; the spin loop ends and the node shuts down gracefully."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signal_name = ''

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        """
        Handle a signal: remember it and ask the loop to stop.

        :param signum: The signal.
        :param frame: The interrupted frame (unused).
        """
        self.signal_name = signal.Signals(signum).name
        self.event.set()

    def is_set(self) -> bool:
        """
        Tell whether a stop was requested.

        :returns: True once a stop signal arrived.
        """
        return self.event.is_set()


def _in_main_thread() -> bool:
    # Python runs signal handlers in the main thread only, and signal.signal refuses any other.
    return threading.current_thread() is threading.main_thread()


def install_stop_handlers() -> StopFlag:
    """
    Make SIGINT and SIGTERM set a stop flag instead of interrupting the program.

    Outside the main thread (a node started by a test's thread) nothing is installed and the
    flag is only set by whoever holds it.

    :returns: The flag the signals set.
    """
    stop = StopFlag()
    if _in_main_thread():
        for signum in STOP_SIGNALS:
            signal.signal(signum, stop)
    return stop


def ignore_stop_signals() -> None:
    """Ignore SIGINT and SIGTERM from now on (the process is about to exit with its code)."""
    if _in_main_thread():
        for signum in STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)


def guarded_main(run: Callable[[StopFlag], int]) -> int:
    """
    Run a node's main so that no stop signal, at any moment, changes the exit code.

    :param run: The main: imports the node, runs it until it ends or the flag is set, and
        returns the exit code.

    :returns: The exit code of ``run``; 0 when a ``KeyboardInterrupt`` ended it.
    """
    stop = install_stop_handlers()
    try:
        return int(run(stop))
    except KeyboardInterrupt:
        return EXIT_OK
    finally:
        ignore_stop_signals()
