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
What the training node does, without ROS: a ``Learner`` trained in a worker thread.

:class:`TrainingRun` builds the learner (``build_learner``) with a demonstration source: the
:class:`~ddpg_manipulation.ros.demo_queue.DemonstrationQueue` fed from the topic, or the
in-process planner's graph (``use_planner``), or none. :meth:`TrainingRun.start` trains in a
worker thread; after every epoch it calls back with the metrics and, when a checkpoint was
saved, with its path. :meth:`TrainingRun.finish` stops the learner through its ``stop_event``
(it finishes the cycle, evaluates and checkpoints), joins the worker and makes sure a final
checkpoint exists, exactly as ``ddpg-manipulation train`` does on Ctrl-C.

Torch is imported only when the learner is built, after the parameters are checked.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Mapping, TYPE_CHECKING

from ddpg_manipulation.ros.interfaces import GraphFactory
from ddpg_manipulation.ros.params import (
    at_least,
    device_form,
    non_negative,
    not_empty,
    ParameterError,
    ParamSpec,
    parse_overrides,
    task_spec,
)

if TYPE_CHECKING:
    from ddpg_manipulation.config import ParameterContainer
    from ddpg_manipulation.transitions import DemonstrationSource


TRAINING_PARAMS = (
    task_spec(),
    ParamSpec('epochs', 0, "epochs to train; 0 = the task's learner.epochs", 'int',
              check=at_least(0)),
    ParamSpec('seed', -1, "random seed; -1 = the task's seed", 'int', check=at_least(-1)),
    ParamSpec('output_dir', 'runs', 'output root; the run goes to OUTPUT_DIR/TASK/TIMESTAMP',
              'str', check=not_empty),
    ParamSpec('device', 'auto',
              'torch device of the networks, replay storage and updates: auto (CUDA if '
              'available, else CPU), cpu, cuda or cuda:N; MuJoCo always runs on the CPU', 'str',
              check=device_form),
    ParamSpec('use_planner', False,
              'run the planner in this process for demonstrations instead of taking them from '
              '~/demonstrations', 'bool'),
    ParamSpec('use_demonstrations', True,
              'inject planner demonstrations at all (sets learner.use_planner); false = plain '
              'DDPG', 'bool'),
    ParamSpec('queue_capacity', 256, 'demonstrations kept from the topic (oldest evicted)',
              'int', check=at_least(1)),
    ParamSpec('reuse_demonstrations', True,
              'draw stored demonstrations again once every received one has been used', 'bool'),
    ParamSpec('min_demonstrations', 0,
              'wait for this many demonstrations on the topic before training starts', 'int',
              check=at_least(0)),
    ParamSpec('qos_depth', 100,
              'history depth of the reliable, transient-local demonstration subscription', 'int',
              check=at_least(1)),
    ParamSpec('keep_checkpoints', 3, 'newest checkpoints kept per run; 0 = all', 'int',
              check=at_least(0)),
    ParamSpec('threads', 0, "torch and MuJoCo threads; 0 = the task's setting (adaptive)",
              'int', check=at_least(0)),
    ParamSpec('overrides', [],
              "task parameter overrides 'section.key=value' (as --set of the CLI), e.g. "
              "['learner.cycles=10']", 'str_list'),
    ParamSpec('warn_period', 2.0, 'seconds between two repeats of the same warning', 'float',
              check=non_negative),
)


def task_overrides(values: Mapping[str, Any]) -> dict[str, Any]:
    """
    Task parameter overrides implied by the node's parameters.

    :param values: Validated node parameters.

    :returns: Flat ``section.key`` -> value overrides for ``ParameterContainer``.
    """
    overrides = parse_overrides(values['overrides'])
    if values['seed'] >= 0:
        overrides['seed'] = values['seed']
    if values['threads'] > 0:
        overrides['learner.threads'] = values['threads']
        overrides['model.nthread'] = values['threads']
    overrides['learner.use_planner'] = bool(values['use_demonstrations'])
    return overrides


def select_device(requested: str) -> str:
    """
    Check the ``device`` parameter against the devices this machine has.

    :param requested: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.

    :returns: The torch device training will use, e.g. ``cpu`` or ``cuda:0``.
    :raises ParameterError: If it is malformed, or names CUDA where there is none.
    """
    from ddpg_manipulation.learning.devices import DeviceError, resolve_device

    try:
        return str(resolve_device(requested, "parameter 'device'"))
    except DeviceError as error:
        raise ParameterError(str(error)) from error


def diagnostic_values(metrics: Mapping[str, Any], queue: Mapping[str, int] | None = None
                      ) -> list[tuple[str, str]]:
    """
    Key/value pairs of an epoch for ``diagnostic_msgs/KeyValue``.

    :param metrics: The learner's epoch metrics.
    :param queue: Demonstration queue counters, if the topic feeds the learner.

    :returns: (key, value) strings.
    """
    values = [
        ('epoch', str(metrics['epoch'])),
        ('success_rate', f'{metrics["success_rate"]:.4f}'),
        ('relative_distance', f'{metrics["relative_distance"]:.4f}'),
        ('demo_share', f'{metrics["demo_share"]:.4f}'),
        ('epoch_time', f'{metrics["epoch_time"]:.3f}'),
        ('replay_size', str(metrics.get('replay_size', ''))),
        # the torch thread count most of the epoch used (the governor drops it under contention)
        ('threads', str(metrics.get('threads', ''))),
    ]
    if 'rollout_threads' in metrics:  # MuJoCo's count, where the governor adapts it too
        values.append(('rollout_threads', str(metrics['rollout_threads'])))
    for key, value in (queue or {}).items():
        values.append((f'demonstrations_{key}', str(value)))
    return values


class TrainingRun:
    """
    A learner trained in a worker thread, with callbacks per epoch and per checkpoint.

    :param params: The task's ``ParameterContainer`` (overrides applied).
    :param epochs: Epochs to train (0 = ``params.learner_epochs``).
    :param output_dir: Output root of the run directory.
    :param source: ``topic`` (a DemonstrationQueue), ``planner`` (in-process planner) or ``none``.
    :param queue_capacity: Capacity of the queue (``topic``).
    :param reuse_demonstrations: Reuse stored demonstrations (``topic``).
    :param min_demonstrations: Demonstrations to wait for before training (``topic``).
    :param keep_checkpoints: Newest checkpoints kept.
    :param on_epoch: Called with each epoch's metrics (worker thread).
    :param on_checkpoint: Called with each new checkpoint path (worker or calling thread).
    :param log: Called with (level, message); level ``info``, ``warning`` or ``error``.
    :param graph_factory: Builds the planner's graph from the params (``planner``); default
        ``planner.search.demonstration_graph``.
    :param device: Torch device of the learner (see :func:`select_device`).
    """

    def __init__(self, params: ParameterContainer, epochs: int = 0, output_dir: str = 'runs',
                 source: str = 'topic', queue_capacity: int = 256,
                 reuse_demonstrations: bool = True, min_demonstrations: int = 0,
                 keep_checkpoints: int = 3,
                 on_epoch: Callable[[dict[str, Any]], None] | None = None,
                 on_checkpoint: Callable[[str], None] | None = None,
                 log: Callable[[str, str], None] | None = None,
                 graph_factory: GraphFactory | None = None,
                 device: str = 'auto') -> None:
        from ddpg_manipulation.learning import checkpoint
        from ddpg_manipulation.learning.build import build_learner
        from ddpg_manipulation.ros.demo_queue import DemonstrationQueue

        if source not in ('topic', 'planner', 'none'):
            raise ValueError(f'source must be topic, planner or none, got {source!r}')
        self.params = params
        self.epochs = int(epochs) if epochs > 0 else int(params.learner_epochs)
        self.source = source
        self.min_demonstrations = int(min_demonstrations) if source == 'topic' else 0
        self.on_epoch = on_epoch
        self.on_checkpoint = on_checkpoint
        self._log = log or (lambda level, message: None)
        self._graph_factory = graph_factory
        try:
            checkpoint.check_writable(output_dir)
        except checkpoint.CheckpointError as error:
            raise ParameterError(f"parameter 'output_dir': {error}") from error
        quaternions = [q.qpos for q in params.state_space.quaternions]
        self.queue = (DemonstrationQueue(params.state_dimension, params.action_dimension,
                                         queue_capacity, reuse_demonstrations, params.seed,
                                         quaternions)
                      if source == 'topic' else None)
        self.learner = build_learner(params, self.queue, output_dir=output_dir,
                                     progress=self._progress, verbose=False,
                                     keep_checkpoints=keep_checkpoints, device=device)
        self._announced: str | None = None
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self.error: BaseException | None = None
        self.started_at: float | None = None

    # -- worker ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start training in a worker thread (returns at once)."""
        if self._thread is not None:
            raise RuntimeError('training already started')
        self.started_at = time.monotonic()
        self._thread = threading.Thread(target=self._work, name='training', daemon=True)
        self._thread.start()

    def _work(self) -> None:
        try:
            if self.source == 'planner':
                self._log('info', f'planning demonstrations for {self.params.task_name} in '
                                  'this process')
                factory = self._graph_factory or _default_graph_factory
                self.learner.graph = factory(self.params)
                if self.learner.stop_event.is_set():
                    return
            if self.min_demonstrations > 0:
                self._wait_for_demonstrations()
                if self.learner.stop_event.is_set():
                    return
            self._log('info', f'training {self.params.task_name} for {self.epochs} epochs '
                              f'(demonstrations: {self.source})')
            self.learner.train(self.epochs)
        except BaseException as error:  # noqa: BLE001 - reported to the node, which exits 1
            self.error = error
            self._log('error', f'training failed: {type(error).__name__}: {error}')
        finally:
            self._done.set()

    def _wait_for_demonstrations(self) -> None:
        waited = 0.0
        while not self.learner.stop_event.is_set():
            if self.queue.wait_for(self.min_demonstrations, 1.0):
                return
            waited += 1.0
            if waited % 10 == 0:
                self._log('info', f'waiting for {self.min_demonstrations} demonstration(s) on '
                                  f'the topic: {self.queue.received} received after '
                                  f'{waited:.0f} s')

    def _progress(self, metrics: dict[str, Any]) -> None:
        if self.on_epoch is not None:
            self.on_epoch(dict(metrics))
        self._announce()

    def _announce(self) -> None:
        path = self.learner.last_checkpoint
        if path is not None and path != self._announced:
            self._announced = path
            if self.on_checkpoint is not None:
                self.on_checkpoint(path)

    # -- control ---------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """Whether the worker has ended (finished, stopped or failed)."""
        return self._done.is_set()

    def stop(self) -> None:
        """Ask the learner to stop after the current cycle (it then evaluates and saves)."""
        self.learner.stop_event.set()

    def finish(self, timeout: float | None = None) -> str | None:
        """
        Stop, join the worker and make sure a final checkpoint exists.

        :param timeout: Seconds to wait for the worker (None = as long as it takes).

        :returns: The path of the newest checkpoint, or None if none could be written.
        """
        if not self.done:
            self.stop()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                self._log('error', 'the training thread did not stop in time; the newest '
                                   'complete checkpoint is the last one announced')
                return self.learner.last_checkpoint
        if self.learner.last_checkpoint is None or self._unsaved_epoch():
            try:
                self.learner.save_checkpoints()
            except Exception as error:  # noqa: BLE001 - report, the last good one stays
                self._log('error', f'final checkpoint failed: {type(error).__name__}: {error}')
        self._announce()
        return self.learner.last_checkpoint

    def _unsaved_epoch(self) -> bool:
        path = self.learner.last_checkpoint or ''
        return not path.rstrip('/').endswith(f'epoch_{self.learner.epoch:06d}')

    @property
    def exit_code(self) -> int:
        """0 unless training failed."""
        return 1 if self.error is not None else 0

    def summary(self) -> dict[str, Any]:
        """
        Summarize what the run achieved, for the final log line.

        :returns: Epochs, last metrics, checkpoint, wall time.
        """
        last = self.learner.history[-1] if self.learner.history else {}
        return {
            'task': self.params.task_name,
            'epochs': self.learner.epoch,
            'epochs_requested': self.epochs,
            'interrupted': self.learner.stop_event.is_set(),
            'success_rate': last.get('success_rate'),
            'relative_distance': last.get('relative_distance'),
            'checkpoint': self.learner.last_checkpoint,
            'wall_time_s': None if self.started_at is None else round(
                time.monotonic() - self.started_at, 2),
        }


def _default_graph_factory(params: ParameterContainer) -> DemonstrationSource:
    from ddpg_manipulation.planner.search import demonstration_graph

    return demonstration_graph(params, show_progress=False)
