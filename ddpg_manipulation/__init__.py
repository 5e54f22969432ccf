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

"""Learn manipulation policies with DDPG from graph-planner demonstrations over MuJoCo."""

import os

__version__ = '0.1.0'

# torch's OpenMP threads spin while they wait for work. On a machine whose cores are shared
# (other processes, or MuJoCo's rollout threads) a spinning thread holds the core the thread it
# waits for needs, and 2-thread updates ran 5-50x slower (bench/contention.py). Passive
# waiting costs little when idle. OpenMP reads this once, when torch loads it: it takes effect
# when this package is imported before torch, and an explicit setting in the environment wins.
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
