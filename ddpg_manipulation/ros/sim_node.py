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
sim_node: the task's MuJoCo plant in real time, closing the loop with policy_node.

Thin shell around :class:`~ddpg_manipulation.ros.sim_logic.SimController`: a timer at
``publish_rate`` Hz steps the physics up to the wall clock (x ``real_time_factor``) and
publishes ``~/state`` (``Float64MultiArray``, the full state) and ``joint_states``
(``sensor_msgs/JointState``, hinge and slide joints by MuJoCo name); ``~/command``
(``Float64MultiArray``, one target per actuator) sets the actuator targets, held until the next
command. It watches the goal: when the relative distance falls below ``success_distance`` it
logs ``goal reached`` and, with ``exit_on_success``, exits with code 0; past ``timeout`` without
success it exits with code 1 (``sim_policy.launch.py`` turns these into the launch's result).
"""

from __future__ import annotations

from typing import Any

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray

from ddpg_manipulation.ros.joint_map import describe, JointMap
from ddpg_manipulation.ros.messages import float64_array, float64_values, LayoutError
from ddpg_manipulation.ros.node_support import (
    declare_parameters,
    diagnostic_array,
    EXIT_OK,
    monotonic,
    run_node,
    ThrottledLogger,
)
from ddpg_manipulation.ros.params import load_task, ParameterError
from ddpg_manipulation.ros.process import guarded_main, StopFlag
from ddpg_manipulation.ros.sim_logic import CommandError, SIM_PARAMS, SimController
from ddpg_manipulation.sim.joints import joint_layout


class SimNode(Node):
    """
    The simulation node; see the module docstring.

    :param kwargs: Passed to ``rclpy.node.Node`` (context, parameter_overrides, ...).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__('sim_node', **kwargs)
        self.values = values = declare_parameters(self, SIM_PARAMS)
        self.params = load_task(values['task'])
        try:
            self.sim = SimController(
                self.params, values['start_state'], values['goal'],
                values['success_distance'] or None, values['command_timeout'],
                values['real_time_factor'], values['max_steps_per_tick'], values['timeout'],
                values['wait_for_command'])
        except ValueError as error:
            what = 'goal' if str(error).startswith('goal') else 'start_state'
            raise ParameterError(f"parameter '{what}': {error}") from error
        self.exit_code: int | None = None
        self._warn = ThrottledLogger(self, values['warn_period'])
        self._state = self.create_publisher(Float64MultiArray, '~/state', 10)
        self._joint_states = self.create_publisher(JointState, 'joint_states', 10)
        self._diagnostics = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self.create_subscription(Float64MultiArray, '~/command', self._on_command,
                                 qos_profile_sensor_data)
        self.create_timer(1.0 / values['publish_rate'], self._on_timer)
        self.create_timer(1.0, self._publish_diagnostics)
        self._announced_success = False
        layout = describe(JointMap.from_model(self.sim.model),
                          joint_layout(self.sim.model)['actuated_joint_names'])
        self.get_logger().info(
            f"task '{self.params.task_name}' at {values['real_time_factor']}x real time, "
            f"state at {values['publish_rate']} Hz; {layout}; goal "
            f'{self.sim.goal.tolist()}, success below relative distance '
            f'{self.sim.success_distance}')

    def _on_command(self, message: Float64MultiArray) -> None:
        try:
            self.sim.apply_command(float64_values(message.data), monotonic())
        except (CommandError, LayoutError) as error:
            self._warn.warning('command', f'dropped a command message: {error}')

    def _on_timer(self) -> None:
        now = monotonic()
        self.sim.advance(now)
        if self.sim.command_stale(now):
            self._warn.warning('stale', 'no command for more than '
                                        f"{self.values['command_timeout']} s: holding the last")
        self._publish_state()
        outcome = self.sim.outcome
        if outcome is None or self.exit_code is not None:
            return
        if outcome.kind == 'success' and not self._announced_success:
            self._announced_success = True
            self.get_logger().info(
                f'goal reached: relative distance {outcome.relative_distance:.4f} < '
                f'{self.sim.success_distance} after {outcome.sim_time:.2f} s simulated '
                f'({outcome.wall_time:.2f} s wall)')
            if self.values['exit_on_success']:
                self.exit_code = outcome.exit_code
        elif outcome.kind == 'timeout':
            self.get_logger().error(
                f"timeout: goal not reached within {self.values['timeout']} s (relative "
                f'distance {outcome.relative_distance:.4f}, needs < {self.sim.success_distance})')
            self.exit_code = outcome.exit_code

    def _publish_state(self) -> None:
        state = Float64MultiArray()
        state.data = float64_array(self.sim.state())
        self._state.publish(state)
        names, positions, velocities = self.sim.joint_state()
        joints = JointState()
        joints.header.stamp = self.get_clock().now().to_msg()
        joints.name = names
        joints.position = positions.tolist()
        joints.velocity = velocities.tolist()
        self._joint_states.publish(joints)

    def _publish_diagnostics(self) -> None:
        now = monotonic()
        stale = self.sim.command_stale(now)
        self._diagnostics.publish(diagnostic_array(
            self, f'{self.get_name()}: simulation', 'warn' if stale else 'ok',
            'command stale, holding' if stale else 'running', self.sim.status(now).items()))

    def close(self) -> int:
        """Return the exit code: 0 (success or stopped), 1 (timeout)."""
        return self.exit_code if self.exit_code is not None else EXIT_OK


def main(args: Any = None, stop: StopFlag | None = None) -> int:
    """
    Run the node until it ends or a stop signal arrives.

    The executable (``ros2 run ddpg_manipulation sim_node``) enters through
    :func:`.executables.sim_node`, which installs the stop handlers before this module loads
    and passes their flag.

    :param args: Command-line arguments (default: ``sys.argv``).
    :param stop: The flag the stop signals set (default: installed here).

    :returns: The process exit code.
    """
    return run_node(SimNode, args, name='sim_node', stop=stop)


if __name__ == '__main__':
    raise SystemExit(guarded_main(lambda stop: main(stop=stop)))
