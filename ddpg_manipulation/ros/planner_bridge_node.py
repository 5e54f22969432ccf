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
planner_bridge_node: plans demonstrations and publishes them on ``~/demonstrations``.

The planner runs in a worker thread (:class:`~ddpg_manipulation.ros.bridge_logic.
DemonstrationSourceRunner`); once its graph is ready a timer publishes one demonstration per
period as ``std_msgs/Float32MultiArray`` (layout: :mod:`ddpg_manipulation.ros.messages`) with a
reliable, transient-local QoS, so a trainer that starts later still receives the newest
``qos_depth`` ones. Several bridges (different seeds) may publish on one topic.
"""

from __future__ import annotations

from typing import Any

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from std_msgs.msg import Float32MultiArray, MultiArrayDimension

from ddpg_manipulation.ros.bridge_logic import (
    bridge_overrides,
    BRIDGE_PARAMS,
    DemonstrationSourceRunner,
)
from ddpg_manipulation.ros.interfaces import GraphFactory
from ddpg_manipulation.ros.messages import fill_multiarray
from ddpg_manipulation.ros.node_support import (
    declare_parameters,
    diagnostic_array,
    EXIT_FAILURE,
    EXIT_OK,
    latched_qos,
    run_node,
    ThrottledLogger,
)
from ddpg_manipulation.ros.params import load_task
from ddpg_manipulation.ros.process import guarded_main, StopFlag


class PlannerBridgeNode(Node):
    """
    Publishes planner demonstrations; see the module docstring.

    :param graph_factory: Builds the graph from the task parameters (tests pass a stub); default
        ``planner.search.demonstration_graph``.
    :param kwargs: Passed to ``rclpy.node.Node`` (context, parameter_overrides, ...).
    """

    def __init__(self, graph_factory: GraphFactory | None = None, **kwargs: Any) -> None:
        super().__init__('planner_bridge_node', **kwargs)
        self.values = declare_parameters(self, BRIDGE_PARAMS)
        self.params = load_task(self.values['task'], bridge_overrides(self.values))
        self.exit_code: int | None = None
        self._warn = ThrottledLogger(self, self.values['warn_period'])
        self._publisher = self.create_publisher(
            Float32MultiArray, '~/demonstrations', latched_qos(self.values['qos_depth']))
        self._diagnostics = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self.runner = DemonstrationSourceRunner(self.params, graph_factory, self.values['count'])
        self.runner.start()
        self._reported_ready = False
        self.published = 0
        self.create_timer(1.0 / self.values['rate'], self._on_timer)
        self.create_timer(1.0, self._publish_diagnostics)
        self.get_logger().info(
            f"planning demonstrations for task '{self.params.task_name}' (seed "
            f'{self.params.seed}); publishing on {self._publisher.topic_name} at '
            f"{self.values['rate']} Hz once ready")

    def _on_timer(self) -> None:
        runner = self.runner
        if not runner.ready:
            return
        if runner.error is not None:
            self.get_logger().error(
                f'planner failed: {type(runner.error).__name__}: {runner.error}')
            self.exit_code = EXIT_FAILURE
            return
        if not self._reported_ready:
            self._reported_ready = True
            self.get_logger().info('planner graph ready, publishing demonstrations')
        flat = runner.next_message()
        if flat is None:
            if not runner.exhausted:
                self._warn.warning('empty', 'the planner graph gave no demonstration this time')
            return
        self._publisher.publish(fill_multiarray(Float32MultiArray(), flat, MultiArrayDimension))
        self.published += 1
        if runner.exhausted:
            self.get_logger().info(
                f"published {self.published} demonstrations (count {self.values['count']}); "
                'idle, still serving late subscribers')

    def _publish_diagnostics(self) -> None:
        runner = self.runner
        if runner.error is not None:
            level, message = 'error', f'planner failed: {runner.error}'
        elif not runner.ready:
            level, message = 'ok', 'planning'
        else:
            level, message = 'ok', 'publishing' if not runner.exhausted else 'done'
        self._diagnostics.publish(diagnostic_array(
            self, f'{self.get_name()}: planner bridge', level, message,
            [('task', self.params.task_name), ('seed', self.params.seed),
             ('published', self.published), ('empty_samples', runner.empty_samples)]))

    def close(self) -> int:
        """Return the exit code (the planner thread is a daemon and ends with the process)."""
        return self.exit_code if self.exit_code is not None else EXIT_OK


def main(args: Any = None, stop: StopFlag | None = None) -> int:
    """
    Run the node until it ends or a stop signal arrives.

    The executable (``ros2 run ddpg_manipulation planner_bridge_node``) enters through
    :func:`.executables.planner_bridge_node`, which installs the stop handlers before this
    module loads and passes their flag.

    :param args: Command-line arguments (default: ``sys.argv``).
    :param stop: The flag the stop signals set (default: installed here).

    :returns: The process exit code.
    """
    return run_node(PlannerBridgeNode, args, name='planner_bridge_node', stop=stop)


if __name__ == '__main__':
    raise SystemExit(guarded_main(lambda stop: main(stop=stop)))
