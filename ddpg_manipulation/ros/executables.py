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

from ddpg_manipulation.ros.process import guarded_main, StopFlag


def planner_bridge_node() -> int:
    """
    Run planner_bridge_node.

    :returns: The process exit code.
    """
    def run(stop: StopFlag) -> int:
        from ddpg_manipulation.ros.planner_bridge_node import main
        return main(stop=stop)

    return guarded_main(run)


def policy_node() -> int:
    """
    Run policy_node.

    :returns: The process exit code.
    """
    def run(stop: StopFlag) -> int:
        from ddpg_manipulation.ros.policy_node import main
        return main(stop=stop)

    return guarded_main(run)


def sim_node() -> int:
    """
    Run sim_node.

    :returns: The process exit code.
    """
    def run(stop: StopFlag) -> int:
        from ddpg_manipulation.ros.sim_node import main
        return main(stop=stop)

    return guarded_main(run)


def training_node() -> int:
    """
    Run training_node.

    :returns: The process exit code.
    """
    def run(stop: StopFlag) -> int:
        from ddpg_manipulation.ros.training_node import main
        return main(stop=stop)

    return guarded_main(run)
