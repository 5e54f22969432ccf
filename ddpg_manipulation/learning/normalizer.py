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

"""Running mean and standard deviation of states, used to normalize observations."""

from __future__ import annotations

import io
from typing import Any

import torch


class Normalizer:
    """
    Running mean/std of states; an observation (state, goal) is normalized half by half.

    Goals are states, so one set of statistics serves both halves of an observation.

    :param size: State size.
    :param eps: Lower bound of the standard deviation.
    :param clip_range: Normalized values are clipped to [-clip_range, clip_range].
    :param update_clip: Samples are clipped to the mean +- this many standard deviations of the
        statistics so far before they are added (0: added as they are). One exploring episode
        that flings an object far adds its square distance to the variance once and for ever;
        clipped, it counts no more than a value at the edge of what the networks see.
    """

    def __init__(self, size: int, eps: float = 1e-2, clip_range: float = 5.0,
                 update_clip: float = 0.0) -> None:
        self.size = size
        self.eps = eps
        self.clip_range = clip_range
        self.update_clip = update_clip
        # Sums in float64 so that millions of updates do not drift.
        self.sum = torch.zeros(size, dtype=torch.float64)
        self.sumsq = torch.zeros(size, dtype=torch.float64)
        self.count = torch.zeros((), dtype=torch.float64)
        self.mean = torch.zeros(size)
        self.std = torch.ones(size)
        # (mean, std, mean doubled, std doubled): the doubled pair is rebuilt only when the
        # statistics change, not on every one of the many small batches an epoch normalizes.
        self._obs_stats: tuple[torch.Tensor, ...] = ()

    def update(self, v: torch.Tensor) -> None:
        """
        Add samples to the statistics.

        :param v: Samples, shape (..., size).
        """
        flat = v.detach().reshape(-1, self.size).to('cpu', torch.float64)
        if self.update_clip > 0 and self.count > 0:
            mean, std = self._moments()
            flat = flat.clamp(mean - self.update_clip * std, mean + self.update_clip * std)
        self.sum += flat.sum(0)
        self.sumsq += flat.square().sum(0)
        self.count += flat.shape[0]
        mean, std = self._moments()
        self.mean = mean.float()
        self.std = std.float()

    def _moments(self) -> tuple[torch.Tensor, torch.Tensor]:
        # Mean and standard deviation (at least eps) of the sums, in float64.
        mean = self.sum / self.count
        variance = (self.sumsq / self.count - mean.square()).clamp_min(0.0)
        return mean, variance.sqrt().clamp_min(self.eps)

    def normalize(self, v: torch.Tensor) -> torch.Tensor:
        """
        Normalize states (or goals) with the running statistics.

        :param v: States, shape (..., size).

        :returns: Normalized, clipped values.
        """
        mean, std = self.mean.to(v.device), self.std.to(v.device)
        return ((v - mean) / std).clamp(-self.clip_range, self.clip_range)

    def normalize_obs(self, obs: torch.Tensor) -> torch.Tensor:
        """
        Normalize observations (state, goal), each half with the state statistics.

        :param obs: Observations, shape (..., 2 * size).

        :returns: Normalized, clipped observations.
        """
        cached = self._obs_stats
        if (not cached or cached[0] is not self.mean or cached[1] is not self.std
                or cached[2].device != obs.device):
            mean, std = self.mean.to(obs.device), self.std.to(obs.device)
            cached = (self.mean, self.std, torch.cat([mean, mean]), torch.cat([std, std]))
            self._obs_stats = cached
        return ((obs - cached[2]) / cached[3]).clamp(-self.clip_range, self.clip_range)

    @staticmethod
    def wrap_obs(states: torch.Tensor, goals: torch.Tensor) -> torch.Tensor:
        """
        Build observations from states and goals.

        :param states: States, shape (..., size).
        :param goals: Goals, shape (..., size).

        :returns: Observations, shape (..., 2 * size).
        """
        return torch.cat([states, goals], dim=-1)

    def state_dict(self) -> dict[str, Any]:
        """Return the statistics as plain tensors (what :meth:`save` writes)."""
        return {
            'size': self.size, 'eps': self.eps, 'clip_range': self.clip_range,
            'sum': self.sum, 'sumsq': self.sumsq, 'count': self.count,
            'mean': self.mean, 'std': self.std,
        }

    def save(self, f: io.BufferedWriter) -> None:
        """
        Save the statistics.

        :param f: Binary file (or path) to write to.
        """
        torch.save(self.state_dict(), f)

    def load(self, checkpoint: Any) -> None:
        """
        Load statistics saved by :meth:`save`.

        :param checkpoint: dict containing loaded data.
        """
        if not isinstance(checkpoint, dict) or 'mean' not in checkpoint:
            raise ValueError('normalizer checkpoint: expected a dict with keys mean, std, ...')
        if int(checkpoint['size']) != self.size:
            raise ValueError(
                f'normalizer checkpoint: state size {checkpoint["size"]} does not match '
                f'{self.size}'
            )
        self.eps = float(checkpoint['eps'])
        self.clip_range = float(checkpoint['clip_range'])
        for key in ('sum', 'sumsq', 'count', 'mean', 'std'):
            value = checkpoint[key]
            if not isinstance(value, torch.Tensor) or not torch.isfinite(value).all():
                raise ValueError(f'normalizer checkpoint: {key!r} is not a finite tensor')
            setattr(self, key, value.clone())
