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
The edges of a learner's epochs: where a ``train`` call starts, stops and closes an epoch.

``Learner.train`` runs the algorithm; these functions keep the bookkeeping around it: the
counters a stop between two cycles must record, the run's result (the best validated epoch),
when a checkpoint is due, and the epoch's report (progress callback or printed line). How a
checkpoint is written and read back lives in ``checkpointing.py``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ddpg_manipulation.learning import checkpoint
from ddpg_manipulation.learning.metrics import epoch_metrics, format_metrics

if TYPE_CHECKING:
    from ddpg_manipulation.learning.learner import Learner


def begin_training(learner: Learner, num_epochs: int) -> int:
    """
    Prepare a ``train`` call: its threads, and a writable output directory for a new run.

    :param learner: The learner.
    :param num_epochs: Epochs the call is to run, from ``learner.epoch``.

    :returns: The epoch the call ends at (also kept as ``learner.epochs_requested``).
    """
    learner.threads.start()
    if learner.save_local and learner.run_dir is None:
        checkpoint.check_writable(learner.output_dir)
    learner.epochs_requested = learner.epoch + num_epochs
    return learner.epochs_requested


def stop_mid_epoch(learner: Learner, started: float) -> bool:
    """
    End a ``train`` call between two cycles if a stop was requested, with a checkpoint.

    The checkpoint records the cycle and the epoch's time so far, so that ``resume`` continues
    the epoch exactly.

    :param learner: The learner.
    :param started: ``time.perf_counter()`` at the start of the epoch (less its earlier time).

    :returns: Whether a stop was requested (the ``train`` call ends).
    """
    if not learner.stop_event.is_set():
        return False
    learner.epoch_elapsed = time.perf_counter() - started
    learner.save_checkpoints()
    return True


def end_epoch(learner: Learner, evaluation: tuple[float, float],
              validation: tuple[float, float] | None, started: float, last_epoch: int) -> bool:
    """
    Close the epoch a learner just ran: counters, metrics, result, checkpoint if due, report.

    The run's best epoch so far is always saved (it is the run's result); others every
    ``learner.checkpoint_every`` epochs, at the last epoch of the ``train`` call and on a stop.

    :param learner: The learner, its ``epoch`` the epoch it just ran (advanced here).
    :param evaluation: The epoch's evaluation: success rate and mean relative distance.
    :param validation: Its validation success rate and distance, or None.
    :param started: ``time.perf_counter()`` at the start of the epoch (less its earlier time).
    :param last_epoch: The epoch the ``train`` call ends at.

    :returns: Whether a stop was requested (the ``train`` call ends).
    """
    learner.epoch += 1
    learner.cycle = 0
    learner.epoch_elapsed = 0.0
    metrics = epoch_metrics(learner, evaluation, validation, time.perf_counter() - started)
    metrics['best'] = note_result(learner, validation)
    learner.history.append(metrics)
    stopping = learner.stop_event.is_set()
    every = learner.params.learner_checkpoint_every
    if ((metrics['best'] and validation is not None) or learner.epoch % every == 0
            or learner.epoch == last_epoch or stopping):
        learner.save_checkpoints()
    if learner.progress is not None:
        learner.progress(metrics)
    elif learner.verbose:
        print(format_metrics(metrics), flush=True)
    return stopping


def note_result(learner: Learner, validation: tuple[float, float] | None) -> bool:
    """
    Decide whether the epoch just finished is the run's result so far, and note it if so.

    The result is the epoch with the highest validation success, ties going to the smaller
    validation distance; without validation it is the newest epoch.

    :param learner: The learner, its ``epoch`` the epoch just finished.
    :param validation: Its validation success rate and distance, or None.

    :returns: Whether it is the result now (its checkpoint is then saved and named in the run's
        ``best.json``).
    """
    best = learner.best
    if validation is not None and best is not None:
        success, distance = validation
        best_success, best_distance = best['validation']
        if not (success > best_success
                or (success == best_success and distance < best_distance)):
            return False
    learner.best = {'epoch': learner.epoch, 'validation': validation, 'checkpoint': None}
    return True
