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
A node process exits 0 on Ctrl-C, SIGINT and SIGTERM, whenever they arrive (no ROS needed).

Each case runs :func:`ddpg_manipulation.ros.process.guarded_main` in a child process and sends
it real signals: while it runs, while its node module would still be importing, and in a storm
that goes on while the interpreter tears down (what ``ros2 launch`` reported as exit code -2).
The node tests (``test_ros_nodes.py``) do the same with the real node executables under rclpy.
"""

from __future__ import annotations

import os
from pathlib import Path
import signal
import subprocess
import sys

import pytest

from ddpg_manipulation.ros.executables import policy_node
from ddpg_manipulation.ros.process import EXIT_OK, guarded_main

REPO = Path(__file__).resolve().parents[1]

# Sends the signals to its parent until the parent is gone (it is then re-parented) or a bound.
STORM = """
import os, signal, sys, time
parent, signals = int(sys.argv[1]), [int(s) for s in sys.argv[2:]]
for count in range(40000):
    if os.getppid() != parent:
        break
    os.kill(parent, signals[count % len(signals)])
    time.sleep(0.0005)
"""

CHILD = """
import os, signal, subprocess, sys

from ddpg_manipulation.ros.process import guarded_main

STORM = {storm!r}
case = sys.argv[1]


def run(stop):
    if case == 'while_importing':
        # Ctrl-C while torch and rclpy would still be loading: the handlers are already there.
        os.kill(os.getpid(), signal.SIGINT)
        import json  # noqa: F401 - stands for the node module's imports
        print('stopped by', stop.signal_name, flush=True)
        return 0
    print('ready', flush=True)
    stop.event.wait(120)
    print('stopped by', stop.signal_name, flush=True)
    if case == 'interrupt':
        raise KeyboardInterrupt  # a library that put Python's default handler back
    if case == 'storm':
        # launch signals again (its own SIGINT, then SIGTERM) while the node shuts down; return
        # only once the storm is on, so that it lasts into the interpreter's teardown.
        stop.event.clear()
        subprocess.Popen([sys.executable, '-c', STORM, str(os.getpid()),
                          str(int(signal.SIGINT)), str(int(signal.SIGTERM))])
        stop.event.wait(120)
    return 3 if case == 'exit_code' else 0


sys.exit(guarded_main(run))
"""


def start(case: str, tmp_path: Path) -> subprocess.Popen:
    """
    Start the child process for one case.

    :param case: What the child does (see ``CHILD``).
    :param tmp_path: Where the script goes.

    :returns: The running child, stdout piped.
    """
    script = tmp_path / 'child.py'
    script.write_text(CHILD.format(storm=STORM), encoding='utf-8')
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(REPO), os.environ.get('PYTHONPATH')) if p))
    return subprocess.Popen([sys.executable, str(script), case], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def finish(child: subprocess.Popen) -> tuple[int, str, str]:
    """
    Wait for a child (bounded, so that a hang fails instead of blocking the suite).

    :param child: The child.

    :returns: Exit code, stdout, stderr.
    """
    try:
        out, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    return child.returncode, out, err


def signal_when_ready(child: subprocess.Popen, signum: int) -> None:
    """
    Send a signal once the child reports that it runs.

    :param child: The child.
    :param signum: The signal.
    """
    assert child.stdout.readline().strip() == 'ready'
    child.send_signal(signum)


@pytest.mark.parametrize('signum', [signal.SIGINT, signal.SIGTERM])
def test_a_stop_signal_ends_the_run_with_exit_code_0(tmp_path: Path, signum: int) -> None:
    child = start('wait', tmp_path)
    signal_when_ready(child, signum)
    code, out, err = finish(child)
    assert (code, out.strip()) == (0, f'stopped by {signal.Signals(signum).name}'), err


def test_the_run_keeps_its_own_exit_code(tmp_path: Path) -> None:
    child = start('exit_code', tmp_path)
    signal_when_ready(child, signal.SIGTERM)
    assert finish(child)[0] == 3


def test_a_keyboard_interrupt_that_escapes_exits_0(tmp_path: Path) -> None:
    child = start('interrupt', tmp_path)
    signal_when_ready(child, signal.SIGINT)
    code, out, err = finish(child)
    assert code == 0, err
    assert 'KeyboardInterrupt' not in err


def test_ctrl_c_while_the_node_module_imports_exits_0(tmp_path: Path) -> None:
    code, out, err = finish(start('while_importing', tmp_path))
    assert (code, out.strip()) == (0, 'stopped by SIGINT'), err


def test_signals_during_the_interpreter_teardown_do_not_kill_it(tmp_path: Path) -> None:
    child = start('storm', tmp_path)
    signal_when_ready(child, signal.SIGINT)
    code, out, err = finish(child)
    assert code == 0, f'exit code {code} (-2: killed by SIGINT while tearing down)\n{err}'


def test_after_main_the_stop_signals_are_ignored(tmp_path: Path) -> None:
    # In this process only through a child: the test runner's own handlers must stay.
    script = tmp_path / 'after.py'
    script.write_text(
        'import signal, sys\n'
        'from ddpg_manipulation.ros.process import guarded_main\n'
        'code = guarded_main(lambda stop: 0)\n'
        'print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN,\n'
        '      signal.getsignal(signal.SIGTERM) is signal.SIG_IGN)\n'
        'sys.exit(code)\n', encoding='utf-8')
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(REPO), os.environ.get('PYTHONPATH')) if p))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env=env, timeout=120, check=False)
    assert (done.returncode, done.stdout.strip()) == (0, 'True True'), done.stderr


def test_guarded_main_outside_the_main_thread_installs_nothing() -> None:
    import threading

    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    results = []
    worker = threading.Thread(target=lambda: results.append(guarded_main(lambda stop: 0)))
    worker.start()
    worker.join()
    assert results == [EXIT_OK]
    assert {s: signal.getsignal(s) for s in handlers} == handlers


def test_the_executables_load_no_node_module_before_the_handlers() -> None:
    # The node modules import rclpy, torch and MuJoCo: seconds in which Ctrl-C must already be
    # handled. The executables module itself must therefore import none of them.
    done = subprocess.run(
        [sys.executable, '-c',
         'import sys\n'
         'import ddpg_manipulation.ros.executables\n'
         'print(sorted(m for m in sys.modules if m.split(".")[0] in '
         '("rclpy", "torch", "mujoco") or m.endswith("_node")))'],
        capture_output=True, text=True, timeout=120, check=False, cwd=REPO)
    assert (done.returncode, done.stdout.strip()) == (0, '[]'), done.stderr
    assert callable(policy_node)
