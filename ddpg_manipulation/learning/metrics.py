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
What an epoch of training reports: its metrics, and the line printed for them.

The metrics go into the learner's history, ``summary.json``, the progress callback, the CLI's
epoch lines and the training node's log and ``/diagnostics``.
"""

from __future__ import annotations

from typing import Any, TYPE_CHECKING

if TYPE_CHECKING:
    from ddpg_manipulation.learning.learner import Learner


def epoch_metrics(
    learner: Learner, evaluation: tuple[float, float],
    validation: tuple[float, float] | None, epoch_time: float,
) -> dict[str, Any]:
    """
    Collect the metrics of the epoch a learner just finished.

    :param learner: The learner, its epoch counter already advanced.
    :param evaluation: Success rate and mean relative distance of the reported evaluation.
    :param validation: The same of the validation, or None without validation.
    :param epoch_time: Seconds the epoch took.

    :returns: ``epoch``, ``success_rate``, ``relative_distance``, ``demo_share`` (of the
        transitions added this epoch), ``epoch_time``, ``replay_size``, ``threads`` (torch's,
        of the updates), ``rollout_threads`` where a governor adapts MuJoCo's and, with
        validation, ``validation_success_rate`` and ``validation_distance``.
    """
    added = learner.demo_transitions + learner.policy_transitions
    metrics = {
        'epoch': learner.epoch,
        'success_rate': evaluation[0],
        'relative_distance': evaluation[1],
        'demo_share': learner.demo_transitions / added if added else 0.0,
        'epoch_time': epoch_time,
        'replay_size': len(learner.replay_buffer),
        'threads': learner.threads.most_used(),
    }
    rollout_threads = learner.threads.most_used_by_rollouts()
    if rollout_threads is not None:
        metrics['rollout_threads'] = rollout_threads
    if validation is not None:
        metrics['validation_success_rate'], metrics['validation_distance'] = validation
    return metrics


def format_metrics(metrics: dict[str, Any]) -> str:
    """
    Format one line per epoch: success rate, relative distance, demo share, epoch time.

    :param metrics: An epoch's metrics.

    :returns: The line.
    """
    validation = ''
    if 'validation_success_rate' in metrics:
        mark = '  best' if metrics.get('best') else ''
        validation = f'  validation {metrics["validation_success_rate"]:.2f}{mark}'
    return (
        f'epoch {metrics["epoch"]:3d}  success {metrics["success_rate"]:.2f}  '
        f'rel. distance {metrics["relative_distance"]:.3f}{validation}  '
        f'demo share {metrics["demo_share"]:.2f}  time {metrics["epoch_time"]:.1f} s'
    )
