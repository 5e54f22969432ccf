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
Train a policy: N planner bridge nodes (different seeds) feed one training node.

    ros2 launch ddpg_manipulation train.launch.py task:=planar_hand num_planners:=2

Every bridge publishes on ``demo_topic`` (its ``~/demonstrations`` remapped), the trainer's
``~/demonstrations`` is remapped to the same topic. The launch ends when the training node
exits (training done, or Ctrl-C: it saves a final checkpoint first).
"""

from launch.actions import DeclareLaunchArgument, OpaqueFunction, Shutdown
from launch.launch_description import LaunchDescription
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

from ddpg_manipulation.ros.launch_args import (
    as_bool,
    as_int,
    bridge_names,
    bridge_seed,
    node_parameters,
    text_parameters,
)

PACKAGE = 'ddpg_manipulation'

ARGUMENTS = (
    ('task', 'box_push', 'bundled task name (box_push, planar_hand, ...) or path to a task YAML'),
    ('epochs', '0', "epochs to train; 0 = the task's learner.epochs"),
    ('seed', '0', 'seed of the trainer; planner bridge i uses seed + 1 + i'),
    ('output_dir', 'runs', 'output root; the run goes to OUTPUT_DIR/TASK/TIMESTAMP'),
    ('num_planners', '1', 'planner bridge nodes to start (each with its own seed); 0 = none'),
    ('demo_topic', '/demonstrations',
     'topic the bridges publish demonstrations on and the trainer subscribes to'),
    ('use_planner', 'false',
     'plan in the training process instead of using bridges (num_planners is then ignored)'),
    ('device', 'auto', 'torch device of the trainer: auto, cpu, cuda or cuda:N'),
    ('training_params', PathJoinSubstitution([FindPackageShare(PACKAGE), 'config',
                                              'training.yaml']),
     'parameter file of training_node'),
    ('planner_params', PathJoinSubstitution([FindPackageShare(PACKAGE), 'config',
                                             'planner_bridge.yaml']),
     'parameter file of the planner bridges (its planner_bridge_node block applies to all)'),
    ('shutdown_timeout', '60',
     'seconds the trainer gets after Ctrl-C to finish its cycle and save before SIGTERM'),
)


def launch_setup(context, *args, **kwargs):
    """Create the nodes from the evaluated arguments (typed parameter values)."""
    def arg(name):
        return LaunchConfiguration(name).perform(context)

    task = arg('task')
    seed = as_int('seed', arg('seed'), minimum=0)
    use_planner = as_bool('use_planner', arg('use_planner'))
    planners = 0 if use_planner else as_int('num_planners', arg('num_planners'), minimum=0)
    demo_topic = arg('demo_topic')
    bridge_defaults = node_parameters(arg('planner_params'), 'planner_bridge_node')
    nodes = []
    for index, name in enumerate(bridge_names(planners)):
        nodes.append(Node(
            package=PACKAGE, executable='planner_bridge_node', name=name, output='screen',
            parameters=[text_parameters({**bridge_defaults, 'task': task,
                                         'seed': bridge_seed(seed, index)})],
            remappings=[('~/demonstrations', demo_topic)]))
    training = {
        'task': task,
        'epochs': as_int('epochs', arg('epochs'), minimum=0),
        'seed': seed,
        'output_dir': arg('output_dir'),
        'use_planner': use_planner,
        'device': arg('device'),
    }
    if planners > 0:
        training['min_demonstrations'] = 1  # start once the first bridge has delivered
    shutdown_timeout = as_int('shutdown_timeout', arg('shutdown_timeout'), minimum=1)
    nodes.append(Node(
        package=PACKAGE, executable='training_node', name='training_node', output='screen',
        parameters=[arg('training_params'), text_parameters(training)],
        remappings=[('~/demonstrations', demo_topic)],
        sigterm_timeout=str(shutdown_timeout),
        on_exit=Shutdown(reason='training_node exited')))
    return nodes


def generate_launch_description():
    """Declare the arguments (``ros2 launch -s`` lists them) and start the nodes."""
    declared = [DeclareLaunchArgument(name, default_value=default, description=description)
                for name, default, description in ARGUMENTS]
    return LaunchDescription(declared + [OpaqueFunction(function=launch_setup)])
