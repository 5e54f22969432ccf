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
  where that option is missing, Python handlers installed after ``init`` take over SIGINT
  and SIGTERM instead of rclpy's.
* ``ExternalShutdownException`` is caught where the rclpy version has it.
"""

from __future__ import annotations

import signal
import threading
import time
from typing import Any, Callable, Iterable, Sequence

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import ParameterDescriptor, SetParametersResult
import rclpy
from rclpy.executors import MultiThreadedExecutor, SingleThreadedExecutor
from rclpy.logging import get_logger

from ddpg_manipulation.ros.params import ParameterError, ParamSpec, validate
from ddpg_manipulation.ros.throttle import Throttle, with_suppressed

try:  # rclpy >= Humble; older releases raise plain exceptions on shutdown
    from rclpy.executors import ExternalShutdownException
except ImportError:  # pragma: no cover - depends on the ROS distribution
    ExternalShutdownException = KeyboardInterrupt

SHUTDOWN_EXCEPTIONS = (KeyboardInterrupt, ExternalShutdownException)

#: Exit codes of the node executables.
EXIT_OK, EXIT_FAILURE, EXIT_BAD_PARAMETER = 0, 1, 2


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
            raise ParameterError(f"parameter '{spec.name}': {error}") from None
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


def current_parameter(node: Any, spec: ParamSpec) -> Any:
    """
    Read one parameter's current value (it may have been changed at run time), validated.

    :param node: The rclpy node.
    :param spec: The parameter.

    :returns: The validated value.
    """
    return validate([spec], {spec.name: node.get_parameter(spec.name).value})[spec.name]


class StopFlag:
    """Set by SIGINT/SIGTERM; the spin loop ends and the node shuts down gracefully."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signal_name = ''

    def __call__(self, signum: int, frame: Any) -> None:
        """Handle a signal: remember it and ask the loop to stop."""
        self.signal_name = signal.Signals(signum).name
        self.event.set()

    def is_set(self) -> bool:
        """Whether a stop was requested."""
        return self.event.is_set()


def init_ros(args: Sequence[str] | None = None, context: Any = None) -> StopFlag:
    """
    Initialize rclpy so that Ctrl-C and SIGTERM stop the node gracefully.

    :param args: Command-line arguments (``--ros-args ...``).
    :param context: rclpy context (default: the global one).

    :returns: The flag the signals set.
    """
    try:
        from rclpy.signals import SignalHandlerOptions
        rclpy.init(args=args, context=context, signal_handler_options=SignalHandlerOptions.NO)
    except (ImportError, TypeError):  # rclpy without signal_handler_options
        rclpy.init(args=args, context=context)
    stop = StopFlag()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, stop)
    return stop


def run_node(factory: Callable[[], Any], args: Sequence[str] | None = None,
             multithreaded: bool = False, name: str = 'ddpg_manipulation') -> int:
    """
    Run a node until it finishes, fails or is signalled; then close it gracefully.

    The executor spins in a background thread; the main thread only waits, so SIGINT/SIGTERM
    are handled at once. The node may set ``exit_code`` (an int) to end the run, and may define
    ``close()`` returning the process exit code; it is called while the executor still spins
    (the node can still publish, e.g. its final checkpoint path). An exception raised in a
    callback ends the run with exit code 1.

    :param factory: Creates the node (after ``rclpy.init``).
    :param args: Command-line arguments.
    :param multithreaded: Use a MultiThreadedExecutor (else single-threaded).
    :param name: Logger name for errors raised while creating the node.

    :returns: The process exit code: 0 ok, 1 failure, 2 bad parameter.
    """
    stop = init_ros(args)
    node = None
    executor = None
    spinner = None
    failure: list[BaseException] = []
    try:
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
        if rclpy.ok():
            rclpy.shutdown()


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
