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
Close the loop without a robot: sim_node + policy_node, ending with the launch's result.

    ros2 launch ddpg_manipulation sim_policy.launch.py task:=box_push timeout:=60

sim_node watches the goal. When the relative distance falls below the success distance it logs
``goal reached: relative distance ...`` and exits with code 0; this launch then logs it and
shuts everything down, and ``ros2 launch`` exits 0. With ``exit_on_success:=false`` it keeps
running. If the goal is not reached within ``timeout`` seconds, sim_node exits with code 1.

``ros2 launch`` returns 0 unless an exception is raised inside the launch (the ``Shutdown``
action carries no exit code, and a process's exit code is not propagated). So a non-zero exit
of sim_node, a policy_node that dies, or a policy_node that fails to configure raise an error
here: launch logs it, shuts down, and ``ros2 launch`` exits 1.
"""

from launch.actions import (
    DeclareLaunchArgument,
    EmitEvent,
    LogInfo,
    OpaqueFunction,
    RegisterEventHandler,
)
from launch.event_handlers import OnProcessExit
from launch.events import matches_action
from launch.events import Shutdown as ShutdownEvent
from launch.launch_description import LaunchDescription
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import LifecycleNode, Node
from launch_ros.event_handlers import OnStateTransition
from launch_ros.events.lifecycle import ChangeState
from launch_ros.substitutions import FindPackageShare
from lifecycle_msgs.msg import Transition

from ddpg_manipulation.ros.launch_args import (
    as_bool,
    as_float,
    as_float_list,
    exit_message,
    text_parameters,
)

PACKAGE = 'ddpg_manipulation'

ARGUMENTS = (
    ('task', 'box_push', 'bundled task name or path to a task YAML'),
    ('checkpoint', 'latest',
     "checkpoint or run directory, or 'latest' = the newest run of the task under output_dir"),
    ('checkpoint_choice', 'best',
     "of a run: 'best' (its result, chosen by validation) or 'newest' checkpoint"),
    ('device', 'cpu', 'torch device of the policy network: cpu, cuda, cuda:N or auto'),
    ('output_dir', 'runs', 'output root searched for checkpoint:=latest'),
    ('goal', '', "goal state as a list, e.g. '[9.0, 2.0, 0.0, 0.0]'; empty = task's nominal"),
    ('start_state', '', "initial state as a list; empty = the task's nominal start"),
    ('control_rate', '100.0', 'Hz of the policy commands'),
    ('real_time_factor', '1.0', 'simulated seconds per wall-clock second'),
    ('success_distance', '0.0',
     "relative distance counted as reaching the goal; 0 = the task's final_success_distance"),
    ('timeout', '60.0',
     'wall-clock seconds to reach the goal; then the launch fails (exit code 1); 0 = none'),
    ('exit_on_success', 'true', 'shut down with exit code 0 once the goal is reached'),
    ('policy_params', PathJoinSubstitution([FindPackageShare(PACKAGE), 'config',
                                            'policy.yaml']),
     'parameter file of policy_node'),
    ('sim_params', PathJoinSubstitution([FindPackageShare(PACKAGE), 'config', 'sim.yaml']),
     'parameter file of sim_node'),
)


class LaunchFailure(RuntimeError):
    """Raised inside the launch so that ``ros2 launch`` exits with code 1."""


def on_sim_exit(event, context):
    """Handle the exit of sim_node: 0 (goal reached) shuts down, anything else fails."""
    message = exit_message('sim_node', event.returncode)
    if event.returncode == 0:
        if context.is_shutdown:  # stopped with the rest (Ctrl-C, or policy_node failed)
            return None
        return [LogInfo(msg=f'{message}: shutting down'),
                EmitEvent(event=ShutdownEvent(reason='sim_node finished'))]
    raise LaunchFailure(message)


def on_policy_exit(event, context):
    """Fail the launch when policy_node exits while the launch is still running."""
    if context.is_shutdown:
        return None
    raise LaunchFailure(exit_message('policy_node', event.returncode) + ' while running')


def fail_configure(context):
    """Fail at once: a policy that cannot be configured cannot reach the goal."""
    raise LaunchFailure('policy_node failed to configure (see its log)')


def launch_setup(context, *args, **kwargs):
    """Create both nodes from the evaluated arguments and wire them together."""
    def arg(name):
        return LaunchConfiguration(name).perform(context)

    task = arg('task')
    goal = as_float_list('goal', arg('goal'))
    start_state = as_float_list('start_state', arg('start_state'))
    sim_parameters = {
        'task': task,
        'real_time_factor': as_float('real_time_factor', arg('real_time_factor'), 0.0,
                                     exclusive=True),
        'success_distance': as_float('success_distance', arg('success_distance'), 0.0),
        'timeout': as_float('timeout', arg('timeout'), 0.0),
        'exit_on_success': as_bool('exit_on_success', arg('exit_on_success')),
        'wait_for_command': True,  # the clock starts with the policy's first command
    }
    policy_parameters = {
        'task': task,
        'checkpoint': arg('checkpoint'),
        'checkpoint_choice': arg('checkpoint_choice'),
        'device': arg('device'),
        'output_dir': arg('output_dir'),
        'control_rate': as_float('control_rate', arg('control_rate'), 0.0, exclusive=True),
        'state_input': 'state',
    }
    if goal is not None:
        sim_parameters['goal'] = goal
        policy_parameters['goal'] = goal
    if start_state is not None:
        sim_parameters['start_state'] = start_state
    sim = Node(
        package=PACKAGE, executable='sim_node', name='sim_node', output='screen',
        parameters=[arg('sim_params'), text_parameters(sim_parameters)],
        remappings=[('~/command', '/policy_node/command')])
    policy = LifecycleNode(
        package=PACKAGE, executable='policy_node', name='policy_node', namespace='',
        output='screen',
        parameters=[arg('policy_params'), text_parameters(policy_parameters)],
        remappings=[('~/state', '/sim_node/state')])
    return [
        sim,
        policy,
        RegisterEventHandler(OnProcessExit(target_action=sim, on_exit=on_sim_exit)),
        RegisterEventHandler(OnProcessExit(target_action=policy, on_exit=on_policy_exit)),
        RegisterEventHandler(OnStateTransition(
            target_lifecycle_node=policy, start_state='configuring', goal_state='inactive',
            entities=[EmitEvent(event=ChangeState(
                lifecycle_node_matcher=matches_action(policy),
                transition_id=Transition.TRANSITION_ACTIVATE))])),
        RegisterEventHandler(OnStateTransition(
            target_lifecycle_node=policy, start_state='configuring', goal_state='unconfigured',
            entities=[OpaqueFunction(function=fail_configure)])),
        EmitEvent(event=ChangeState(
            lifecycle_node_matcher=matches_action(policy),
            transition_id=Transition.TRANSITION_CONFIGURE)),
    ]


def generate_launch_description():
    """Declare the arguments (``ros2 launch -s`` lists them) and start the loop."""
    declared = [DeclareLaunchArgument(name, default_value=default, description=description)
                for name, default, description in ARGUMENTS]
    return LaunchDescription(declared + [OpaqueFunction(function=launch_setup)])
