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

"""How many torch threads small tensor work runs on: one (planner operations, rollout steps)."""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """
    Run torch on one intra-op thread inside the block, then restore the previous count.

    The planner's tensors are small (thousands of rows, a few columns), and so is an action
    step of a rollout (one actor call on a few to a hundred states): a second thread cannot
    speed them up. On a loaded machine the hand-over between threads made single planner
    operations a thousand times slower than on one thread (measured: 50 ms instead of 50 us),
    and on the idle machine hand_cube's actor inference took 4.5 s of an epoch on two threads
    against 1.9 s on one (docs/performance.md).
    """
    previous = torch.get_num_threads()
    if previous != 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if previous != 1:
            torch.set_num_threads(previous)
