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
ROS 2 nodes: the only part of the package that imports rclpy.

Each node file (``*_node.py``) is a thin rclpy shell; what it does lives in a plain module
without rclpy, tested without ROS: ``bridge_logic``, ``training_logic`` + ``demo_queue``,
``policy_logic`` + ``joint_map``, ``sim_logic``; messages in ``messages``, parameters in
``params``, launch-argument parsing in ``launch_args``. ``node_support`` holds the shared rclpy
plumbing. Importing this package imports no rclpy.
"""
