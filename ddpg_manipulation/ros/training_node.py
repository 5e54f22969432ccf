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
training_node: trains a policy with demonstrations from ``~/demonstrations``.

Thin shell around :class:`~ddpg_manipulation.ros.training_logic.TrainingRun`: the subscription
validates each message against the task and puts it in the run's demonstration queue (bad
messages are dropped with a throttled warning); the learner trains in a worker thread while the
executor spins; per-epoch metrics go to ``/diagnostics`` and each saved checkpoint's path to
``~/checkpoint``. On Ctrl-C / SIGTERM the learner stops after its cycle, a final checkpoint is
saved and announced, and the process exits 0. It also exits (0) when training is done, or 1 if
training failed.
"""

from __future__ import annotations

import time
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from std_msgs.msg import Float32MultiArray, String

from ddpg_manipulation.ros.interfaces import GraphFactory
from ddpg_manipulation.ros.messages import LayoutError, read_multiarray
from ddpg_manipulation.ros.node_support import (
    declare_parameters,
    diagnostic_array,
    EXIT_OK,
    latched_qos,
    run_node,
    ThrottledLogger,
)
from ddpg_manipulation.ros.params import load_task
from ddpg_manipulation.ros.process import guarded_main, StopFlag
from ddpg_manipulation.ros.training_logic import (
    diagnostic_values,
    select_device,
    task_overrides,
    TRAINING_PARAMS,
    TrainingRun,
)


class TrainingNode(Node):
    """
    Trains in a worker thread; see the module docstring.

    :param graph_factory: Planner graph factory for ``use_planner`` (tests pass a stub).
    :param autostart: Start training at once (tests may start it themselves).
    :param kwargs: Passed to ``rclpy.node.Node`` (context, parameter_overrides, ...).
    """

    def __init__(self, graph_factory: GraphFactory | None = None, autostart: bool = True,
                 **kwargs: Any) -> None:
        super().__init__('training_node', **kwargs)
        self.values = values = declare_parameters(self, TRAINING_PARAMS)
        self.device = select_device(values['device'])
        self.params = load_task(values['task'], task_overrides(values))
        self.exit_code: int | None = None
        self.announced: str | None = None
        self._warn = ThrottledLogger(self, values['warn_period'])
        self._diagnostics = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        # Latched: a node that starts later still learns the newest checkpoint.
        self._checkpoints = self.create_publisher(String, '~/checkpoint', latched_qos(1))
        if not values['use_demonstrations']:
            source = 'none'
        else:
            source = 'planner' if values['use_planner'] else 'topic'
        self.run = TrainingRun(
            self.params, values['epochs'], values['output_dir'], source,
            values['queue_capacity'], values['reuse_demonstrations'],
            values['min_demonstrations'], values['keep_checkpoints'],
            on_epoch=self._on_epoch, on_checkpoint=self._on_checkpoint, log=self._log,
            graph_factory=graph_factory, device=self.device)
        if source == 'topic':
            self._subscription = self.create_subscription(
                Float32MultiArray, '~/demonstrations', self._on_demonstration,
                latched_qos(values['qos_depth']))
            where = f'demonstrations from {self._subscription.topic_name}'
        else:
            where = 'in-process planner demonstrations' if source == 'planner' else \
                'no demonstrations'
        self.get_logger().info(
            f"task '{self.params.task_name}' (seed {self.params.seed}), {self.run.epochs} "
            f'epochs on {self.device}, {where}; checkpoints under {values["output_dir"]}')
        self.create_timer(0.5, self._check_done)
        if autostart:
            self.run.start()

    # -- callbacks -------------------------------------------------------------------------

    def _on_demonstration(self, message: Float32MultiArray) -> None:
        try:
            self.run.queue.put_flat(read_multiarray(message))
        except LayoutError as error:
            self._warn.warning('layout', f'dropped a demonstration message: {error}')

    def _on_epoch(self, metrics: dict[str, Any]) -> None:
        # Imported here: the node starts (and refuses bad parameters) before torch loads.
        from ddpg_manipulation.learning.metrics import format_metrics

        self.get_logger().info(format_metrics(metrics))
        queue = self.run.queue.stats() if self.run.queue is not None else None
        self._diagnostics.publish(diagnostic_array(
            self, f'{self.get_name()}: training', 'ok', f'epoch {metrics["epoch"]}',
            diagnostic_values(metrics, queue)))

    def _on_checkpoint(self, path: str) -> None:
        self.get_logger().info(f'checkpoint saved: {path}')
        self._checkpoints.publish(String(data=str(path)))
        self.announced = path

    def _log(self, level: str, message: str) -> None:
        # One call site per severity: rclpy refuses a call site whose severity changes.
        logger = self.get_logger()
        if level == 'error':
            logger.error(message)
        elif level == 'warning':
            logger.warning(message)
        else:
            logger.info(message)

    def _check_done(self) -> None:
        if self.run.done and self.exit_code is None:
            self.exit_code = self.run.exit_code

    # -- shutdown --------------------------------------------------------------------------

    def close(self) -> int:
        """Stop training, save and announce a final checkpoint, return the exit code."""
        if not self.run.done:
            self.get_logger().info('stopping training after the current cycle; saving a final '
                                   'checkpoint')
        announced = self.announced
        path = self.run.finish()
        if path is not None and path != announced:
            time.sleep(0.2)  # let DDS deliver the final announcement before the node goes
        summary = self.run.summary()
        self.get_logger().info(
            f"done: {summary['epochs']} epochs, success rate {summary['success_rate']}, "
            f'final checkpoint {path}')
        return self.run.exit_code if self.run.error is not None else EXIT_OK


def main(args: Any = None, stop: StopFlag | None = None) -> int:
    """
    Run the node until it ends or a stop signal arrives.

    The executable (``ros2 run ddpg_manipulation training_node``) enters through
    :func:`.executables.training_node`, which installs the stop handlers before this module loads
    and passes their flag.

    :param args: Command-line arguments (default: ``sys.argv``).
    :param stop: The flag the stop signals set (default: installed here).

    :returns: The process exit code.
    """
    return run_node(TrainingNode, args, multithreaded=True, name='training_node', stop=stop)


if __name__ == '__main__':
    raise SystemExit(guarded_main(lambda stop: main(stop=stop)))
