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
The node executables (``ros2 run ddpg_manipulation <node>``, launch files).

Each one installs the stop handlers (:func:`.process.guarded_main`) before it imports its node
module: rclpy, torch and MuJoCo take seconds to load, and a Ctrl-C in those seconds must stop
the node with exit code 0 like one at any later moment. This module imports nothing heavy.
"""

import importlib
from typing import Callable

from ddpg_manipulation.ros.process import guarded_main, StopFlag


def executable(node_module: str) -> Callable[[], int]:
    """
    Make the console-script entry of a node: stop handlers first, then the node's ``main``.

    :param node_module: The node's module in ``ddpg_manipulation.ros``.

    :returns: A function that runs the node and returns the process exit code.
    """
    def run(stop: StopFlag) -> int:
        module = importlib.import_module(f'ddpg_manipulation.ros.{node_module}')
        return module.main(stop=stop)

    def entry() -> int:
        return guarded_main(run)

    entry.__name__ = entry.__qualname__ = node_module
    entry.__doc__ = f'Run {node_module}; returns the process exit code.'
    return entry


planner_bridge_node = executable('planner_bridge_node')
policy_node = executable('policy_node')
sim_node = executable('sim_node')
training_node = executable('training_node')
