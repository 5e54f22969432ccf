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
rclpy plumbing shared by the nodes: parameters, signals, the spin loop, message helpers.

Works with the rclpy of ROS 2 Humble and Jazzy:

* ``rclpy.init(signal_handler_options=SignalHandlerOptions.NO)`` keeps the context alive on
  Ctrl-C so that a node can still publish while it shuts down (its final checkpoint path);
  SIGINT and SIGTERM belong to :mod:`.process` (stop flag, exit code 0).
* ``ExternalShutdownException`` is caught where the rclpy version has it.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Iterable, Sequence

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import ParameterDescriptor, SetParametersResult
import rclpy
from rclpy.executors import MultiThreadedExecutor, SingleThreadedExecutor
from rclpy.logging import get_logger
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

from ddpg_manipulation.ros.params import ParameterError, ParamSpec, validate
from ddpg_manipulation.ros.process import (
    EXIT_BAD_PARAMETER,
    EXIT_FAILURE,
    EXIT_OK,
    install_stop_handlers,
    StopFlag,
)
from ddpg_manipulation.ros.throttle import Throttle, with_suppressed

try:  # rclpy >= Humble; older releases raise plain exceptions on shutdown
    from rclpy.executors import ExternalShutdownException
except ImportError:  # pragma: no cover - depends on the ROS distribution
    ExternalShutdownException = KeyboardInterrupt

SHUTDOWN_EXCEPTIONS = (KeyboardInterrupt, ExternalShutdownException)


def declare_parameters(node: Any, specs: Iterable[ParamSpec]) -> dict[str, Any]:
    """
    Declare a node's parameters with descriptors and return their validated values.

    Numbers are declared with ``dynamic_typing`` and coerced by :func:`params.validate`, so that
    ``50`` from a launch file works for a float parameter.

    :param node: The rclpy node.
    :param specs: The node's parameters.

    :returns: Name -> validated value; raises ParameterError naming a bad parameter.
    """
    specs = list(specs)
    values = {}
    for spec in specs:
        descriptor = ParameterDescriptor(
            description=spec.full_description, read_only=spec.read_only, dynamic_typing=True)
        # rclpy types an empty list as a byte array; '' reads as "not set" just the same.
        default = '' if isinstance(spec.default, list) and not spec.default else spec.default
        try:
            parameter = node.declare_parameter(spec.name, default, descriptor)
        except Exception as error:  # noqa: BLE001 - rclpy raises several types for bad values
            raise ParameterError(f"parameter '{spec.name}': {error}") from error
        values[spec.name] = parameter.value
    return validate(specs, values)


def reject_invalid_changes(node: Any, specs: Iterable[ParamSpec]) -> None:
    """
    Refuse run-time changes (``ros2 param set``) that the parameter's checks reject.

    Numbers are declared with ``dynamic_typing``, so rclpy itself accepts a value of any type;
    without this callback a bad value would only be found when the node next reads it.

    :param node: The rclpy node (its parameters are already declared).
    :param specs: The node's parameters.
    """
    by_name = {spec.name: spec for spec in specs}

    def check(parameters: list[Any]) -> SetParametersResult:
        for parameter in parameters:
            spec = by_name.get(parameter.name)
            if spec is None:
                continue
            try:
                validate([spec], {spec.name: parameter.value})
            except ParameterError as error:
                return SetParametersResult(successful=False, reason=str(error))
        return SetParametersResult(successful=True)

    node.add_on_set_parameters_callback(check)


def latched_qos(depth: int) -> QoSProfile:
    """
    Return a reliable, transient-local profile keeping the last ``depth`` messages.

    Both ends of a latched topic use it: a transient-local publisher replays its history only to
    subscriptions that are transient local as well (a volatile one gets new messages only).

    :param depth: Messages kept for subscribers that join later.

    :returns: The profile.
    """
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth,
                      reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.TRANSIENT_LOCAL)


def current_parameter(node: Any, spec: ParamSpec) -> Any:
    """
    Read one parameter's current value (it may have been changed at run time), validated.

    :param node: The rclpy node.
    :param spec: The parameter.

    :returns: The validated value.
    """
    return validate([spec], {spec.name: node.get_parameter(spec.name).value})[spec.name]


def init_ros(args: Sequence[str] | None = None, context: Any = None) -> None:
    """
    Initialize rclpy without its signal handlers: :mod:`.process` owns SIGINT and SIGTERM.

    rclpy's handlers would shut the context down at the first Ctrl-C, before the node could
    publish what it publishes on the way out (the final checkpoint path).

    :param args: Command-line arguments (``--ros-args ...``).
    :param context: rclpy context (default: the global one).
    """
    try:
        from rclpy.signals import SignalHandlerOptions
    except ImportError:  # pragma: no cover - rclpy before Galactic installs its handlers always
        rclpy.init(args=args, context=context)
        return
    rclpy.init(args=args, context=context, signal_handler_options=SignalHandlerOptions.NO)


def shutdown_ros(context: Any = None) -> None:
    """
    Shut rclpy down, leaving the signal handlers as they are.

    By default ``rclpy.shutdown`` of the global context uninstalls rclpy's handlers, and the
    uninstall briefly sets the default SIGINT action even when none were installed: a signal
    in that moment would kill the process.

    :param context: rclpy context (default: the global one).
    """
    if not rclpy.ok(context=context):
        return
    try:
        rclpy.shutdown(context=context, uninstall_handlers=False)
    except TypeError:  # pragma: no cover - rclpy without uninstall_handlers
        rclpy.shutdown(context=context)


def run_node(factory: Callable[[], Any], args: Sequence[str] | None = None,
             multithreaded: bool = False, name: str = 'ddpg_manipulation',
             stop: StopFlag | None = None) -> int:
    """
    Run a node until it finishes, fails or is signalled; then close it gracefully.

    The executor spins in a background thread; the main thread only waits, so SIGINT/SIGTERM
    are handled at once, in every state of the node. The node may set ``exit_code`` (an int) to
    end the run, and may define ``close()`` returning the process exit code; it is called while
    the executor still spins (the node can still publish, e.g. its final checkpoint path). An
    exception raised in a callback ends the run with exit code 1 (with a multi-threaded executor
    only where rclpy re-raises it, ros2/rclpy#984: an rclpy released before it loses the
    exception and the node runs on). A stop requested before the node is created (a signal while
    the node module was still importing) ends the run with 0.

    :param factory: Creates the node (after ``rclpy.init``).
    :param args: Command-line arguments.
    :param multithreaded: Use a MultiThreadedExecutor (else single-threaded).
    :param name: Logger name for errors raised while creating the node.
    :param stop: The flag the stop signals set (:func:`.process.guarded_main` passes it);
        default: install the handlers here.

    :returns: The process exit code: 0 ok (also when stopped by a signal), 1 failure, 2 bad
        parameter.
    """
    if stop is None:
        stop = install_stop_handlers()
    init_ros(args)
    node = None
    executor = None
    spinner = None
    failure: list[BaseException] = []
    try:
        if stop.is_set():
            get_logger(name).info(f'{stop.signal_name} before the node started: not starting')
            return EXIT_OK
        try:
            node = factory()
        except ParameterError as error:
            get_logger(name).error(f'bad parameter, not starting: {error}')
            return EXIT_BAD_PARAMETER
        executor = MultiThreadedExecutor() if multithreaded else SingleThreadedExecutor()
        executor.add_node(node)

        def spin() -> None:
            try:
                executor.spin()
            except SHUTDOWN_EXCEPTIONS:
                pass
            except Exception as error:  # noqa: BLE001 - a callback failed: end the run
                failure.append(error)

        spinner = threading.Thread(target=spin, name='executor', daemon=True)
        spinner.start()
        while (rclpy.ok() and not stop.is_set() and not failure and spinner.is_alive()
               and getattr(node, 'exit_code', None) is None):
            stop.event.wait(0.05)
        if stop.is_set():
            node.get_logger().info(f'{stop.signal_name}: shutting down')
        if failure:
            node.get_logger().error(
                f'callback failed: {type(failure[0]).__name__}: {failure[0]}')
        code = node.close() if hasattr(node, 'close') else getattr(node, 'exit_code', None)
        return EXIT_FAILURE if failure else int(code or EXIT_OK)
    finally:
        if executor is not None:
            executor.shutdown()
        if spinner is not None:
            spinner.join(timeout=5.0)
        if node is not None:
            node.destroy_node()
        shutdown_ros()


def now_seconds(node: Any) -> float:
    """Return the node clock's time in seconds."""
    return node.get_clock().now().nanoseconds * 1e-9


def monotonic() -> float:
    """Return monotonic wall-clock seconds (for pacing and timeouts)."""
    return time.monotonic()


class ThrottledLogger:
    """
    Warnings of one kind at most once per period, with the count of the suppressed ones.

    :param node: The rclpy node (its logger is used).
    :param period: Seconds between two warnings of the same kind.
    """

    def __init__(self, node: Any, period: float) -> None:
        self._logger = node.get_logger()
        self._throttle = Throttle(period)

    def warning(self, key: str, message: str) -> None:
        """
        Log a warning unless one of this kind was logged within the period.

        :param key: Kind of warning.
        :param message: Text.
        """
        suppressed = self._throttle(key, monotonic())
        if suppressed is not None:
            # One call site, one severity (rclpy refuses a call site that changes it): every
            # kind of warning goes through this line at WARN.
            self._logger.warning(with_suppressed(message, suppressed))


def diagnostic_array(node: Any, name: str, level: str, message: str,
                     values: Iterable[tuple[str, Any]]) -> DiagnosticArray:
    """
    Build a ``/diagnostics`` message with one status.

    :param node: The publishing node (clock, hardware id).
    :param name: Status name.
    :param level: ``ok``, ``warn`` or ``error``.
    :param message: Status message.
    :param values: (key, value) pairs.

    :returns: The message.
    """
    status = DiagnosticStatus()
    status.level = {'ok': DiagnosticStatus.OK, 'warn': DiagnosticStatus.WARN,
                    'error': DiagnosticStatus.ERROR}[level]
    status.name = name
    status.message = message
    status.hardware_id = 'ddpg_manipulation'
    status.values = [KeyValue(key=str(k), value=str(v)) for k, v in values]
    array = DiagnosticArray()
    array.header.stamp = node.get_clock().now().to_msg()
    array.status = [status]
    return array
