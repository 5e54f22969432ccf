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
Deploy a trained policy: the lifecycle policy_node, configured and activated at start.

    ros2 launch ddpg_manipulation policy.launch.py task:=planar_hand checkpoint:=latest
        command_topic:=/forward_position_controller/commands  (one command line)

Autostart (``autostart:=true``, the default) emits a ``configure`` transition at once and an
``activate`` transition when the node reaches ``inactive``; if configuring fails (bad
checkpoint) the node stays ``unconfigured`` and the error is logged (fix the parameter, then
``ros2 lifecycle set /policy_node configure``).
"""

from launch.actions import (
    DeclareLaunchArgument,
    EmitEvent,
    LogInfo,
    OpaqueFunction,
    RegisterEventHandler,
)
from launch.events import matches_action
from launch.launch_description import LaunchDescription
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import LifecycleNode
from launch_ros.event_handlers import OnStateTransition
from launch_ros.events.lifecycle import ChangeState
from launch_ros.substitutions import FindPackageShare
from lifecycle_msgs.msg import Transition

from ddpg_manipulation.ros.launch_args import (
    as_bool,
    as_float,
    as_float_list,
    text_parameters,
)

PACKAGE = 'ddpg_manipulation'

ARGUMENTS = (
    ('checkpoint', 'latest',
     "checkpoint or run directory, or 'latest' = the newest run of the task under output_dir"),
    ('checkpoint_choice', 'best',
     "of a run: 'best' (its result, chosen by validation) or 'newest' checkpoint"),
    ('device', 'cpu', 'torch device of the policy network: cpu, cuda, cuda:N or auto'),
    ('task', 'box_push', 'task the checkpoint must belong to (name or task YAML path)'),
    ('output_dir', 'runs', 'output root searched for checkpoint:=latest'),
    ('command_topic', '/policy_node/command',
     'where the actuator targets go, e.g. /forward_position_controller/commands'),
    ('state_topic', '/policy_node/state', 'full-state input (std_msgs/Float64MultiArray)'),
    ('joint_states_topic', '/joint_states', 'joint-state input (sensor_msgs/JointState)'),
    ('goal_topic', '/policy_node/goal', 'goal input (std_msgs/Float64MultiArray)'),
    ('checkpoint_updates_topic', '/training_node/checkpoint',
     'announced checkpoints (std_msgs/String); ~/reload loads the last one'),
    ('control_rate', '100.0', 'Hz of the command output'),
    ('state_timeout', '0.5', 'seconds without state before the last command is held'),
    ('state_input', 'both', 'inputs to subscribe: state, joint_states or both'),
    ('goal', '', "goal state as a list, e.g. '[9.0, 2.0, 0.0, 0.0]'; empty = task's nominal"),
    ('autostart', 'true', 'configure and activate the lifecycle node at start'),
    ('params_file', PathJoinSubstitution([FindPackageShare(PACKAGE), 'config', 'policy.yaml']),
     'parameter file of policy_node'),
)


def autostart_actions(node):
    """Configure now; activate once the node is inactive (events, as in ros2/demos)."""
    return [
        RegisterEventHandler(OnStateTransition(
            target_lifecycle_node=node, start_state='configuring', goal_state='inactive',
            entities=[
                LogInfo(msg='policy_node configured, activating'),
                EmitEvent(event=ChangeState(
                    lifecycle_node_matcher=matches_action(node),
                    transition_id=Transition.TRANSITION_ACTIVATE)),
            ])),
        RegisterEventHandler(OnStateTransition(
            target_lifecycle_node=node, start_state='configuring', goal_state='unconfigured',
            entities=[LogInfo(msg='policy_node failed to configure (see its log); fix the '
                                  'parameters, then: ros2 lifecycle set /policy_node '
                                  'configure')])),
        EmitEvent(event=ChangeState(
            lifecycle_node_matcher=matches_action(node),
            transition_id=Transition.TRANSITION_CONFIGURE)),
    ]


def launch_setup(context, *args, **kwargs):
    """Create the node from the evaluated arguments (typed parameter values)."""
    def arg(name):
        return LaunchConfiguration(name).perform(context)

    parameters = {
        'task': arg('task'),
        'checkpoint': arg('checkpoint'),
        'checkpoint_choice': arg('checkpoint_choice'),
        'device': arg('device'),
        'output_dir': arg('output_dir'),
        'control_rate': as_float('control_rate', arg('control_rate'), 0.0, exclusive=True),
        'state_timeout': as_float('state_timeout', arg('state_timeout'), 0.0, exclusive=True),
        'state_input': arg('state_input'),
    }
    goal = as_float_list('goal', arg('goal'))
    if goal is not None:
        parameters['goal'] = goal
    node = LifecycleNode(
        package=PACKAGE, executable='policy_node', name='policy_node', namespace='',
        output='screen', parameters=[arg('params_file'), text_parameters(parameters)],
        remappings=[
            ('~/command', arg('command_topic')),
            ('~/state', arg('state_topic')),
            ('joint_states', arg('joint_states_topic')),
            ('~/goal', arg('goal_topic')),
            ('~/checkpoint_updates', arg('checkpoint_updates_topic')),
        ])
    actions = [node]
    if as_bool('autostart', arg('autostart')):
        actions += autostart_actions(node)
    return actions


def generate_launch_description():
    """Declare the arguments (``ros2 launch -s`` lists them) and start the node."""
    declared = [DeclareLaunchArgument(name, default_value=default, description=description)
                for name, default, description in ARGUMENTS]
    return LaunchDescription(declared + [OpaqueFunction(function=launch_setup)])
