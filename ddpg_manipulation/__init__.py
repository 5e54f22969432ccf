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

# torch's OpenMP threads (GNU libgomp in the Linux wheels) spin for a while before they sleep
# when they wait for work. On a machine whose cores are shared (other processes, or MuJoCo's
# rollout threads) a spinning thread holds the core the thread it waits for needs, and 2-thread
# updates ran 5-50x slower with the default spin count (bench/contention.py). Not spinning at
# all (OMP_WAIT_POLICY=PASSIVE) avoids that but halves update speed on an idle machine (every
# small op then pays a thread wake-up). A short spin keeps both: idle 2-thread updates as fast as
# unbounded spinning (~150/s here, against ~75/s passive), loaded as fast as passive. OpenMP reads
# this once, when torch loads: it takes effect when this package is imported before torch, and
# an explicit OMP_WAIT_POLICY or GOMP_SPINCOUNT in the environment wins.
if 'OMP_WAIT_POLICY' not in os.environ and 'GOMP_SPINCOUNT' not in os.environ:
    os.environ['GOMP_SPINCOUNT'] = '3000'
