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
A DDPG update captured once as a CUDA graph and replayed for every batch.

At the reference size (4 x 256 networks, batch 256) an update on a GPU is a few dozen small
kernels, and launching them from Python costs more than running them. A CUDA graph records the
kernels of one update once and replays them with one launch; each batch is copied into the
graph's static input tensors first. Every call of :class:`GraphedStep` is exactly one real
update: the first ``warmup`` calls run eagerly on a side stream (cuBLAS and the optimizer set up
their state there, as capture requires), the next one is captured and then replayed.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch

Batch = tuple[torch.Tensor, ...]


class GraphedStep:
    """
    Run an update function on batches through a CUDA graph.

    The function must do the same work on every call (no data-dependent Python branches), read
    its inputs only from the batch it is given, and leave results in tensors it updates in
    place (network parameters, optimizer state): what the graph replays is the kernels, not the
    Python. Optimizers it steps are switched to ``capturable``, as capture demands.

    :param update: The update, called with one batch.
    :param optimizers: The optimizers the update steps.
    :param warmup: Eager calls before capture.
    """

    def __init__(self, update: Callable[[Batch], None],
                 optimizers: Sequence[torch.optim.Optimizer], warmup: int = 3) -> None:
        self.update = update
        self.warmup = warmup
        self.calls = 0
        self.graph: torch.cuda.CUDAGraph | None = None
        self.static: Batch | None = None
        for optimizer in optimizers:
            for group in optimizer.param_groups:
                group['capturable'] = True

    def __call__(self, batch: Batch) -> None:
        """
        Apply the update to one batch.

        :param batch: Tensors on the CUDA device, the same shapes on every call.
        """
        if self.static is None:
            self.static = tuple(x.clone() for x in batch)
        else:
            for static, x in zip(self.static, batch):
                static.copy_(x)
        self.calls += 1
        if self.graph is not None:
            self.graph.replay()
        elif self.calls <= self.warmup:
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                self.update(self.static)
            torch.cuda.current_stream().wait_stream(side)
        else:
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):  # records the kernels without running them
                self.update(self.static)
            self.graph = graph
            graph.replay()


class GraphedUpdates:
    """
    The learner's update through a CUDA graph, captured for the discount factor it is called with.

    A captured graph replays its kernels with the constants they were recorded with, so a call
    with another discount factor than the last one drops the graph and captures a new one.

    :param update: The update, called with one batch and the discount factor.
    :param optimizers: The optimizers the update steps.
    """

    def __init__(self, update: Callable[[Batch, float], None],
                 optimizers: Sequence[torch.optim.Optimizer]) -> None:
        self.update = update
        self.optimizers = optimizers
        self.steps: dict[float, GraphedStep] = {}

    def __call__(self, batch: Batch, discount_factor: float) -> None:
        """
        Apply the update to one batch.

        :param batch: Tensors on the CUDA device, the same shapes on every call.
        :param discount_factor: The update's discount factor.
        """
        if discount_factor not in self.steps:
            self.steps = {discount_factor: GraphedStep(
                lambda static: self.update(static, discount_factor), self.optimizers)}
        self.steps[discount_factor](batch)

    def reset(self) -> None:
        """Forget the captured graphs (their optimizer or network state was replaced)."""
        self.steps = {}
