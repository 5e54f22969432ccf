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
policy_node (lifecycle): a trained checkpoint publishing actuator targets.

Thin shell around :class:`~ddpg_manipulation.ros.policy_logic.PolicyController`:

* configure: load and validate the checkpoint (``checkpoint``, or ``latest`` under
  ``output_dir``) against ``task``; any problem fails the transition with a log naming it;
  create the publishers, subscriptions and the ``~/reload`` service;
* activate: start the control timer (``control_rate`` Hz), which publishes ``~/command``
  (``std_msgs/Float64MultiArray``, one target per actuator: the ros2_control forward command
  controller format); deactivate: stop it; cleanup / shutdown: release everything.

Inputs: ``~/state`` (``Float64MultiArray``, the full state) and/or ``joint_states``
(``sensor_msgs/JointState``, by MuJoCo joint name), ``~/goal`` (``Float64MultiArray``).
``~/reload`` (``std_srvs/Trigger``) loads the checkpoint last announced on
``~/checkpoint_updates`` (``std_msgs/String``, e.g. remapped to ``/training_node/checkpoint``)
or else the ``checkpoint`` parameter again, and swaps it in without stopping the control loop;
on failure the old policy stays and the response says why.
"""

from __future__ import annotations

from typing import Any

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray, String
from std_srvs.srv import Trigger

from ddpg_manipulation.ros.interfaces import PolicyLoader
from ddpg_manipulation.ros.joint_map import describe
from ddpg_manipulation.ros.messages import float64_array, float64_values, LayoutError
from ddpg_manipulation.ros.node_support import (
    current_parameter,
    declare_parameters,
    diagnostic_array,
    latched_qos,
    now_seconds,
    reject_invalid_changes,
    run_node,
    ThrottledLogger,
)
from ddpg_manipulation.ros.params import ParameterError
from ddpg_manipulation.ros.policy_logic import (
    describe_policy,
    InputError,
    load_policy,
    POLICY_PARAMS,
    PolicyController,
    TaskContext,
)
from ddpg_manipulation.ros.process import guarded_main, StopFlag

_SPECS = {spec.name: spec for spec in POLICY_PARAMS}
# Read again at every configure, so that a failed one is fixed with `ros2 param set`.
_CONFIGURE_SPECS = tuple(spec for spec in POLICY_PARAMS if not spec.read_only)


class PolicyNode(LifecycleNode):
    """
    The lifecycle policy node; see the module docstring.

    :param loader: ``(checkpoint, output_dir, task, threads) -> policy``, a
        :class:`~ddpg_manipulation.ros.interfaces.PolicyLoader` (tests may pass their own);
        default :func:`~ddpg_manipulation.ros.policy_logic.load_policy`.
    :param kwargs: Passed to the rclpy node (context, parameter_overrides, ...).
    """

    def __init__(self, loader: PolicyLoader | None = None, **kwargs: Any) -> None:
        super().__init__('policy_node', **kwargs)
        self.values = declare_parameters(self, POLICY_PARAMS)
        reject_invalid_changes(self, POLICY_PARAMS)
        self._loader: PolicyLoader = loader or load_policy
        self._warn = ThrottledLogger(self, self.values['warn_period'])
        self.controller: PolicyController | None = None
        self._control_group = MutuallyExclusiveCallbackGroup()
        self._service_group = MutuallyExclusiveCallbackGroup()
        self._command_publisher = None
        self._diagnostics = None
        # Not _subscriptions / _timers: rclpy.node.Node keeps its own entity lists under those.
        self._inputs: list[Any] = []
        self._service = None
        self._loop_timers: list[Any] = []
        self._announced: str | None = None
        self._last_status = ''

    # -- lifecycle -------------------------------------------------------------------------

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Load and validate the checkpoint; create publishers, subscriptions and services."""
        try:
            values = {**self.values,
                      **{spec.name: current_parameter(self, spec) for spec in _CONFIGURE_SPECS}}
            policy = self._loader(values['checkpoint'], values['output_dir'], values['task'],
                                  values['threads'], values['device'],
                                  values['checkpoint_choice'])
            context = TaskContext.of(policy)
            try:
                controller = PolicyController(
                    policy, values['control_rate'], values['state_timeout'],
                    goal=values['goal'] or context.goal, joint_map=context.joint_map,
                    base_state=context.start_state, ignored_joints=values['ignored_joints'],
                    pose_map=context.pose_map, quaternion_slots=context.quaternion_slots)
            except InputError as error:
                raise ValueError(f"parameter 'goal': {error}") from error
            except ValueError as error:
                raise ValueError(f"parameter 'control_rate': {error}") from error
        except Exception as error:  # noqa: BLE001 - any problem fails the transition, logged
            self.get_logger().error(
                f'configure failed, staying unconfigured: {type(error).__name__}: {error}')
            return TransitionCallbackReturn.FAILURE
        self.values = values
        self.controller = controller
        self._command_publisher = self.create_lifecycle_publisher(
            Float64MultiArray, '~/command', 10)
        self._diagnostics = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        subscribe = self._inputs.append
        if values['state_input'] in ('both', 'state'):
            subscribe(self.create_subscription(
                Float64MultiArray, '~/state', self._on_state, qos_profile_sensor_data))
        if values['state_input'] in ('both', 'joint_states'):
            subscribe(self.create_subscription(
                JointState, 'joint_states', self._on_joint_state, qos_profile_sensor_data))
        subscribe(self.create_subscription(Float64MultiArray, '~/goal', self._on_goal, 10))
        # Latched as training_node publishes it: the newest checkpoint announced before this
        # configure arrives too.
        subscribe(self.create_subscription(
            String, '~/checkpoint_updates', self._on_checkpoint_update, latched_qos(1),
            callback_group=self._service_group))
        self._service = self.create_service(Trigger, '~/reload', self._on_reload,
                                            callback_group=self._service_group)
        self.get_logger().info(
            f'configured with {describe_policy(policy)}: {controller.substeps} commands per '
            f'{controller.actions.time_step} s action at {controller.control_rate} Hz; '
            f'{describe(context.joint_map, context.actuated_joint_names, context.pose_map)}')
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Enable the command publisher, then start the control and diagnostics timers."""
        # The base class enables the lifecycle publisher; before it, a first tick's command
        # would be dropped.
        result = super().on_activate(state)
        self.controller.reset()
        self._loop_timers = [
            self.create_timer(1.0 / self.controller.control_rate, self._on_control,
                              callback_group=self._control_group),
            self.create_timer(self.values['diagnostics_period'], self._publish_diagnostics),
        ]
        self.get_logger().info(f'active: publishing on {self._command_publisher.topic_name}')
        return result

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Stop the control loop (no more commands)."""
        self._destroy_timers()
        self.get_logger().info('inactive: control loop stopped')
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Release the policy, publishers, subscriptions and services."""
        self._release()
        self.get_logger().info('cleaned up')
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Release everything."""
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def _destroy_timers(self) -> None:
        timers, self._loop_timers = self._loop_timers, []
        for timer in timers:
            self.destroy_timer(timer)

    def _release(self) -> None:
        self._destroy_timers()
        subscriptions, self._inputs = self._inputs, []
        for subscription in subscriptions:
            self.destroy_subscription(subscription)
        if self._service is not None:
            self.destroy_service(self._service)
            self._service = None
        if self._command_publisher is not None:
            destroy = getattr(self, 'destroy_lifecycle_publisher', self.destroy_publisher)
            destroy(self._command_publisher)
            self._command_publisher = None
        if self._diagnostics is not None:
            self.destroy_publisher(self._diagnostics)
            self._diagnostics = None
        self.controller = None

    # -- inputs ----------------------------------------------------------------------------

    def _on_state(self, message: Float64MultiArray) -> None:
        try:
            self.controller.set_full_state(float64_values(message.data), now_seconds(self))
        except (InputError, LayoutError) as error:
            self._warn.warning('state', f'dropped a state message: {error}')

    def _on_joint_state(self, message: JointState) -> None:
        try:
            self.controller.set_joint_state(message.name, message.position, message.velocity,
                                            now_seconds(self))
        except InputError as error:
            self._warn.warning('joint_states', f'dropped a joint state message: {error}')

    def _on_goal(self, message: Float64MultiArray) -> None:
        try:
            self.controller.set_goal(float64_values(message.data))
        except (InputError, LayoutError) as error:
            self._warn.warning('goal', f'dropped a goal message: {error}')
            return
        self.get_logger().info('new goal received')

    def _on_checkpoint_update(self, message: String) -> None:
        self._announced = message.data
        if self.values['auto_reload']:
            self._reload()
        else:
            self.get_logger().info(f'checkpoint announced: {message.data} (~/reload loads it)')

    # -- control loop ----------------------------------------------------------------------

    def _on_control(self) -> None:
        controller = self.controller
        if controller is None:
            return
        result = controller.step(now_seconds(self))
        if result.status != 'ok':
            action = 'holding the last command' if result.command is not None else \
                'no command yet'
            self._warn.warning(result.status, f'{result.status}: {action} ({result.detail})')
        elif self._last_status not in ('', 'ok'):
            self.get_logger().info('input fresh again, control resumed')
        self._last_status = result.status
        publisher = self._command_publisher
        if result.command is not None and publisher is not None:
            message = Float64MultiArray()
            message.data = float64_array(result.command)
            publisher.publish(message)

    def _publish_diagnostics(self) -> None:
        if self.controller is None or self._diagnostics is None:
            return
        status = self._last_status or 'waiting'
        level = 'ok' if status == 'ok' else 'warn'
        self._diagnostics.publish(diagnostic_array(
            self, f'{self.get_name()}: policy', level, status,
            self.controller.status(now_seconds(self)).items()))

    # -- reload ----------------------------------------------------------------------------

    def _reload(self) -> tuple[bool, str]:
        controller = self.controller
        if controller is None:
            return False, 'not configured'
        try:
            target = self._announced or current_parameter(self, _SPECS['checkpoint'])
            output_dir = current_parameter(self, _SPECS['output_dir'])
            choice = current_parameter(self, _SPECS['checkpoint_choice'])
        except ParameterError as error:
            self.get_logger().error(f'reload refused: {error}')
            return False, f'reload refused: {error}'
        self._announced = None
        ok, message = controller.reload(
            lambda: self._loader(target, output_dir, self.values['task'],
                                 self.values['threads'], self.values['device'], choice))
        # Two call sites: rclpy ties each logging call site to one severity.
        if ok:
            self.get_logger().info(message)
        else:
            self.get_logger().error(message)
        return ok, message

    def _on_reload(self, request: Trigger.Request, response: Trigger.Response
                   ) -> Trigger.Response:
        response.success, response.message = self._reload()
        return response


def main(args: Any = None, stop: StopFlag | None = None) -> int:
    """
    Run the node until it ends or a stop signal arrives.

    The executable (``ros2 run ddpg_manipulation policy_node``) enters through
    :func:`.executables.policy_node`, which installs the stop handlers before this module loads
    and passes their flag.

    :param args: Command-line arguments (default: ``sys.argv``).
    :param stop: The flag the stop signals set (default: installed here).

    :returns: The process exit code.
    """
    return run_node(PolicyNode, args, multithreaded=True, name='policy_node', stop=stop)


if __name__ == '__main__':
    raise SystemExit(guarded_main(lambda stop: main(stop=stop)))
