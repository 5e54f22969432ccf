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
What every benchmark shares: machine info, paired timing, baselines, result files.

The machines these benchmarks run on are shared and noisy, so a benchmark never compares a
figure with one measured at another time: it measures its baseline in the same run, interleaved
with the subject (baseline, subject, subject, baseline, ...), and quotes the median of the
per-repeat ratios next to the median figures.
"""

from __future__ import annotations

import argparse
from contextlib import contextmanager
import copy
from dataclasses import dataclass, field
import datetime
import json
import math
import os
from pathlib import Path
import platform
import resource
import statistics
import time
from typing import Any, Callable, Iterator, Mapping, Sequence

import mujoco
from mujoco import rollout as mj_rollout
import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

from bench import RESULTS_DIR
from ddpg_manipulation.config import ParameterContainer
from ddpg_manipulation.learning.learner import build_learner, Learner
from ddpg_manipulation.sim.actions import first_order_hold
from ddpg_manipulation.sim.plant import MujocoPlant, usable_cores

TASKS = ('box_push', 'planar_hand')
# CPU flags that decide which low-precision kernels oneDNN can use.
INTERESTING_FLAGS = ('avx2', 'avx512f', 'avx512_bf16', 'avx512_vnni', 'amx_tile', 'amx_bf16')
OPERATORS: dict[str, Callable[[float, float], bool]] = {
    '>=': lambda a, b: a >= b,
    '<=': lambda a, b: a <= b,
    '<': lambda a, b: a < b,
    '>': lambda a, b: a > b,
}


# -- machine -------------------------------------------------------------------------------


def _cpuinfo_field(name: str) -> str:
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as handle:
            for line in handle:
                key, _, value = line.partition(':')
                if key.strip() == name:
                    return value.strip()
    except OSError:
        pass
    return ''


def cpu_model() -> str:
    """
    Name the CPU model.

    :returns: The model name of /proc/cpuinfo, or the platform's processor string.
    """
    return _cpuinfo_field('model name') or platform.processor() or 'unknown'


def cpu_flags() -> dict[str, bool]:
    """
    Report the CPU flags that matter for low-precision matrix kernels.

    :returns: Flag name -> present.
    """
    flags = set(_cpuinfo_field('flags').split())
    return {flag: flag in flags for flag in INTERESTING_FLAGS}


def load_average() -> list[float]:
    """
    Read the 1, 5 and 15 minute load averages.

    :returns: Three load averages (zeros where the platform has none).
    """
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover - platforms without load averages
        return [0.0, 0.0, 0.0]


def machine_info(rollout_threads: int | None = None) -> dict[str, Any]:
    """
    Describe the machine and the software a benchmark runs on.

    :param rollout_threads: MuJoCo rollout threads the benchmark uses (default: usable cores, what
        ``model.nthread: 0`` resolves to).

    :returns: CPU model and flags, usable cores, load average, versions, thread settings.
    """
    import tensordict
    import torchrl

    return {
        'cpu_model': cpu_model(),
        'cpu_flags': cpu_flags(),
        'cpu_count': os.cpu_count(),
        'usable_cores': usable_cores(),
        'load_average': load_average(),
        'python': platform.python_version(),
        'torch': torch.__version__,
        'mujoco': mujoco.__version__,
        'numpy': np.__version__,
        'torchrl': torchrl.__version__,
        'tensordict': tensordict.__version__,
        'torch_threads': torch.get_num_threads(),
        'torch_interop_threads': torch.get_num_interop_threads(),
        'torch_cpu_capability': torch.backends.cpu.get_cpu_capability(),
        'mujoco_rollout_threads': usable_cores() if rollout_threads is None else rollout_threads,
        'omp_env': {k: os.environ[k] for k in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS',
                                               'OMP_WAIT_POLICY', 'GOMP_SPINCOUNT')
                    if k in os.environ},
    }


def rss_bytes() -> int:
    """
    Read this process's resident set size.

    :returns: VmRSS in bytes (0 where /proc is missing).
    """
    return _status_kib('VmRSS') * 1024


def peak_rss_bytes() -> int:
    """
    Read this process's peak resident set size.

    :returns: VmHWM in bytes, or ``ru_maxrss`` where /proc is missing.
    """
    peak = _status_kib('VmHWM') * 1024
    return peak or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _status_kib(field_name: str) -> int:
    try:
        with open('/proc/self/status', encoding='utf-8') as handle:
            for line in handle:
                if line.startswith(field_name + ':'):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


@contextmanager
def torch_threads(count: int) -> Iterator[int]:
    """
    Run a block with ``count`` torch intra-op threads, then restore the previous count.

    :param count: Threads; 0 = usable cores.

    :yields: The thread count set.
    """
    previous = torch.get_num_threads()
    count = usable_cores() if count <= 0 else count
    torch.set_num_threads(count)
    try:
        yield count
    finally:
        torch.set_num_threads(previous)


# -- timing --------------------------------------------------------------------------------


def median(values: Sequence[float]) -> float | None:
    """
    Median of the finite values.

    :param values: Numbers.

    :returns: The median, or None if there is no finite value.
    """
    finite = [float(v) for v in values if v is not None and math.isfinite(v)]
    return statistics.median(finite) if finite else None


def median_or_none(values: Sequence[float | None]) -> float | None:
    """
    Median that counts a missing value (not reached) as slower than every number.

    :param values: Seconds or epochs per seed, None where not reached.

    :returns: The median, or None if it falls on a run that did not reach the target.
    """
    ordered = sorted(math.inf if v is None else v for v in values)
    if not ordered:
        return None
    middle = statistics.median(ordered)
    return None if math.isinf(middle) else middle


def timed(fn: Callable[[], Any]) -> float:
    """
    Time one call.

    :param fn: What to run.

    :returns: Wall seconds.
    """
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


@dataclass
class Paired:
    """
    Interleaved timings of a baseline and a subject.

    :param baseline: Seconds of each baseline repeat.
    :param subject: Seconds of each subject repeat.
    """

    baseline: list[float] = field(default_factory=list)
    subject: list[float] = field(default_factory=list)

    @property
    def baseline_median(self) -> float:
        """Median baseline seconds."""
        return statistics.median(self.baseline)

    @property
    def subject_median(self) -> float:
        """Median subject seconds."""
        return statistics.median(self.subject)

    @property
    def time_ratio(self) -> float:
        """Median over repeats of subject time / baseline time (> 1: the subject is slower)."""
        return statistics.median(s / b for s, b in zip(self.subject, self.baseline))

    @property
    def speed_ratio(self) -> float:
        """Median over repeats of baseline time / subject time (subject rate / baseline rate)."""
        return statistics.median(b / s for s, b in zip(self.subject, self.baseline))


def paired(baseline: Callable[[], Any], subject: Callable[[], Any], repeats: int,
           warmup: int = 1) -> Paired:
    """
    Time a baseline and a subject interleaved (ABBA order), so drifting load hits both.

    :param baseline: The reference work.
    :param subject: The work measured against it.
    :param repeats: Timed repeats of each.
    :param warmup: Untimed calls of each first.

    :returns: The per-repeat timings.
    """
    for _ in range(warmup):
        baseline()
        subject()
    result = Paired()
    for repeat in range(repeats):
        if repeat % 2 == 0:
            result.baseline.append(timed(baseline))
            result.subject.append(timed(subject))
        else:
            result.subject.append(timed(subject))
            result.baseline.append(timed(baseline))
    return result


# -- tasks and learners --------------------------------------------------------------------


def make_params(task: str, overrides: Mapping[str, Any] | None = None) -> ParameterContainer:
    """
    Load a bundled task with overrides.

    :param task: Task name.
    :param overrides: Flat ``section.key`` overrides.

    :returns: The parameters.
    """
    return ParameterContainer(task, dict(overrides or {}))


def make_learner(params: ParameterContainer, graph: Any = None, **kwargs: Any) -> Learner:
    """
    Build a learner that neither prints nor writes checkpoints.

    :param params: Task parameters.
    :param graph: Source of demonstrations, or None.
    :param kwargs: Further ``Learner`` fields.

    :returns: The learner.
    """
    options = {'save_local': False, 'verbose': False, **kwargs}
    return build_learner(params, graph, **options)


def warm_up(learner: Learner, updates: int = 10) -> None:
    """
    Run each part of an epoch once (rollout, updates, evaluation) so that none is first.

    :param learner: The learner.
    :param updates: Updates to run.
    """
    p = learner.params
    learner.policy_rollout()
    learner.train_batches(updates, p.learner_batch_size, p.learner_discount)
    learner.eval_agent()


def full_physics_states(model: mujoco.MjModel, states: np.ndarray) -> np.ndarray:
    """
    Expand ``[qpos, qvel(, act)]`` states to MuJoCo's full physics state.

    :param model: The model.
    :param states: States, shape (batch, nq + nv + na).

    :returns: Full physics states (time, qpos, qvel, act, rest), shape (batch, nstate), float64.
    """
    spec = mujoco.mjtState.mjSTATE_FULLPHYSICS
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    template = np.empty(mujoco.mj_stateSize(model, spec))
    mujoco.mj_getState(model, data, template, spec)
    full = np.repeat(template[None], states.shape[0], axis=0)
    full[:, 1:1 + states.shape[1]] = states
    return full


def trajectory_controls(plant: MujocoPlant, states: torch.Tensor,
                        relative: torch.Tensor) -> np.ndarray:
    """
    Rebuild the physics-step controls a policy rollout applied.

    :param plant: The plant that ran the rollout.
    :param states: Visited states, shape (batch, steps + 1, nx).
    :param relative: Relative actions, shape (batch, steps, nu).

    :returns: Controls of every physics sub-step, shape (batch, steps * substeps, nu), float64.
    """
    previous = None
    steps = []
    for t in range(relative.shape[1]):
        start_end = plant.actions.start_end_actions(
            states[:, t, plant.actuated_pos], relative[:, t], previous)
        steps.append(start_end)
        previous = start_end[:, 1]
    start_end = torch.stack(steps, dim=1).double().numpy()
    return np.ascontiguousarray(first_order_hold(start_end, plant.substeps))


def transitions_trajectory(data: Any, envs: int) -> tuple[torch.Tensor, torch.Tensor]:
    """
    Lay the transitions of a batched policy rollout out as trajectories again.

    :param data: Transitions as ``Learner.policy_rollout`` returns them (trajectory by trajectory).
    :param envs: Environments of the rollout.

    :returns: States (envs, steps + 1, nx) and relative actions (envs, steps, nu).
    """
    nx = data['states'].shape[-1]
    states = data['states'].reshape(envs, -1, nx)
    last = data['next_states'].reshape(envs, -1, nx)[:, -1:]
    relative = data['relative_actions'].reshape(envs, states.shape[1], -1)
    return torch.cat([states, last], dim=1), relative


def recorded_trajectory(learner: Learner, envs: int, evaluation: bool = False
                        ) -> tuple[torch.Tensor, torch.Tensor]:
    """
    Roll out the learner's actor without touching its replay buffer.

    :param learner: The learner.
    :param envs: Environments.
    :param evaluation: Without exploration noise (as ``eval_agent``).

    :returns: States (envs, steps + 1, nx) and relative actions (envs, steps, nu).
    """
    plant = learner.plant
    generator = torch.Generator().manual_seed(learner.params.seed + 99)
    starts = plant.sample_start_states(envs, generator)
    goals = plant.sample_goal_states(envs, generator)
    if evaluation:
        learner.actor.evaluation_mode()
    try:
        return plant.rollout(learner.actor_actions, starts, goals,
                             learner.params.learner_trajectory_length)
    finally:
        learner.actor.train()


class RawRollout:
    """
    MuJoCo's multi-threaded rollout, called directly: the physics floor.

    Threading mirrors ``MujocoPlant``: a pool of ``nthread`` threads, or the calling thread
    when ``nthread`` is 1.

    :param model: The model.
    :param nthread: Rollout threads.
    """

    def __init__(self, model: mujoco.MjModel, nthread: int) -> None:
        self.model = model
        self.nthread = nthread
        self.pool = mj_rollout.Rollout(nthread=nthread if nthread > 1 else 0)
        self.datas = [mujoco.MjData(model) for _ in range(max(1, nthread))]

    def __call__(self, initial: np.ndarray, controls: np.ndarray) -> None:
        """
        Roll out all environments for all steps of ``controls`` in one call.

        :param initial: Full physics states, shape (batch, nstate).
        :param controls: Controls, shape (batch, nstep, nu).
        """
        self.pool.rollout([self.model] * initial.shape[0], self.datas, initial, controls)

    def close(self) -> None:
        """Stop the thread pool."""
        self.pool.close()


def raw_replay(plant: MujocoPlant, states: torch.Tensor, relative: torch.Tensor
               ) -> tuple[RawRollout, np.ndarray, np.ndarray]:
    """
    Prepare a raw rollout that repeats a policy rollout's physics in one MuJoCo call.

    :param plant: The plant that ran the policy rollout.
    :param states: Its states, shape (batch, steps + 1, nx).
    :param relative: Its relative actions, shape (batch, steps, nu).

    :returns: The raw rollout, its initial full states and its controls.
    """
    raw = RawRollout(plant.model, plant.nthread)
    initial = full_physics_states(plant.model, states[:, 0].double().numpy())
    return raw, initial, trajectory_controls(plant, states, relative)


# -- the bare DDPG update ------------------------------------------------------------------


def _mlp(size_in: int, size_out: int, nlayers: int, width: int) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for _ in range(nlayers - 1):
        layers += [nn.Linear(size_in, width), nn.ReLU()]
        size_in = width
    return [*layers, nn.Linear(size_in, size_out)]


class BareDDPG:
    """
    The plain CleanRL-style DDPG update on pre-made random tensors: the update floor.

    Same sizes as the learner's networks (``nlayers`` linear layers of ``width``), fused Adam
    as the learner uses, the actor updated every step as the learner does; no replay buffer,
    normalizer, reward computation or soft target update.

    :param size_obs: Observation size (state and goal).
    :param size_act: Action size.
    :param nlayers: Linear layers per network.
    :param width: Hidden width.
    :param batch: Batch size.
    :param lr: Adam learning rate.
    :param discount: Discount factor.
    :param fused: Use the fused Adam kernel (as the learner); False = torch's default Adam.
    """

    def __init__(self, size_obs: int, size_act: int, nlayers: int = 4, width: int = 256,
                 batch: int = 256, lr: float = 1e-3, discount: float = 0.98,
                 fused: bool = True) -> None:
        generator = torch.Generator().manual_seed(0)
        self.actor = nn.Sequential(*_mlp(size_obs, size_act, nlayers, width), nn.Tanh())
        self.critic = nn.Sequential(*_mlp(size_obs + size_act, 1, nlayers, width))
        self.actor_target = copy.deepcopy(self.actor).requires_grad_(False)
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        adam = {'lr': lr, 'fused': True} if fused else {'lr': lr}
        self.actor_optim = torch.optim.Adam(self.actor.parameters(), **adam)
        self.critic_optim = torch.optim.Adam(self.critic.parameters(), **adam)
        self.discount = discount
        self.obs = torch.randn(batch, size_obs, generator=generator)
        self.next_obs = torch.randn(batch, size_obs, generator=generator)
        self.actions = 2 * torch.rand(batch, size_act, generator=generator) - 1
        self.rewards = -(torch.rand(batch, 1, generator=generator) < 0.9).float()
        self.dones = (self.rewards == 0).float()

    def update(self) -> None:
        """Run one critic step (MSE to the TD target) and one actor step (-Q)."""
        with torch.no_grad():
            next_actions = self.actor_target(self.next_obs)
            next_q = self.critic_target(torch.cat([self.next_obs, next_actions], 1))
            target = self.rewards + self.discount * (1 - self.dones) * next_q
        q = self.critic(torch.cat([self.obs, self.actions], 1))
        critic_loss = F.mse_loss(q, target)
        self.critic_optim.zero_grad()
        critic_loss.backward()
        self.critic_optim.step()
        actor_loss = -self.critic(torch.cat([self.obs, self.actor(self.obs)], 1)).mean()
        self.actor_optim.zero_grad()
        actor_loss.backward()
        self.actor_optim.step()

    def updates(self, count: int) -> None:
        """
        Run ``count`` updates.

        :param count: Updates.
        """
        for _ in range(count):
            self.update()


def bare_for(params: ParameterContainer, fused: bool = True) -> BareDDPG:
    """
    Build the bare update with a task's network and batch sizes.

    :param params: Task parameters.
    :param fused: Use fused Adam.

    :returns: The bare update.
    """
    nx, nu = params.state_dimension, params.action_dimension
    return BareDDPG(2 * nx, nu, params.learner_nlayers, params.learner_layer_width,
                    params.learner_batch_size, params.learner_critic_lr,
                    params.learner_discount, fused)


# -- results -------------------------------------------------------------------------------


def clean(value: Any) -> Any:
    """
    Make a value JSON-safe: NaN and infinities become None, numpy and torch scalars plain.

    :param value: Any nesting of dicts, lists and numbers.

    :returns: The cleaned value.
    """
    if isinstance(value, Mapping):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if isinstance(value, (np.generic, torch.Tensor)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class Bench:
    """
    Collects one benchmark's figures, ratios, targets and notes.

    :param name: Benchmark name (the JSON file's stem).
    :param quick: Whether this is the tiny smoke-test run.
    :param rollout_threads: MuJoCo rollout threads, for the machine info.
    """

    def __init__(self, name: str, quick: bool, rollout_threads: int | None = None) -> None:
        self.name = name
        self.quick = quick
        self.started = time.perf_counter()
        self.started_at = datetime.datetime.now().isoformat(timespec='seconds')
        self.machine = machine_info(rollout_threads)
        self.config: dict[str, Any] = {}
        self.figures: dict[str, Any] = {}
        self.ratios: dict[str, Any] = {}
        self.targets: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self.details: dict[str, Any] = {}

    def figure(self, key: str, value: Any) -> None:
        """
        Record a figure, rounded to 6 significant digits.

        :param key: Figure name, with its unit as suffix (``_s``, ``_per_s``, ``_mb``).
        :param value: The value (None = not measured; the notes say why).
        """
        self.figures[key] = _round(value)

    def ratio(self, key: str, value: Any) -> None:
        """
        Record a ratio to a baseline measured in the same run.

        :param key: Ratio name.
        :param value: The ratio.
        """
        self.ratios[key] = _round(value)

    def target(self, key: str, op: str, value: float, label: str, figure: str | None = None,
               missing_fails: bool = False) -> None:
        """
        Declare a target on a ratio or figure.

        :param key: Name in ``ratios`` (searched first) or ``figures``.
        :param op: One of ``>=``, ``<=``, ``<``, ``>``.
        :param value: The bound.
        :param label: Human-readable name of what is compared.
        :param figure: The headline figure the ratio is about (shown next to it in reports).
        :param missing_fails: A missing value (e.g. not reached) fails the target instead of
            counting as not measured.
        """
        if op not in OPERATORS:
            raise ValueError(f'target {key!r}: unknown operator {op!r}')
        self.targets.append({'key': key, 'op': op, 'value': value, 'label': label,
                             'figure': figure, 'missing_fails': missing_fails})

    def note(self, text: str) -> None:
        """
        Add a note: a caveat, or why a figure is missing.

        :param text: The note.
        """
        self.notes.append(text)

    def result(self) -> dict[str, Any]:
        """
        Assemble the result, with each target evaluated.

        :returns: The JSON-ready result.
        """
        targets = []
        for target in self.targets:
            key = target['key']
            measured = self.ratios[key] if key in self.ratios else self.figures.get(key)
            passed = evaluate(target['op'], measured, target['value'])
            if passed is None and target['missing_fails']:
                passed = False
            figure = target['figure']
            targets.append({**target, 'measured': measured, 'passed': passed,
                            'is_ratio': key in self.ratios,
                            'figure_value': self.figures.get(figure) if figure else None})
        return clean({
            'name': self.name,
            'quick': self.quick,
            'started': self.started_at,
            'seconds': round(time.perf_counter() - self.started, 2),
            'machine': self.machine,
            'load_average_end': load_average(),
            'config': self.config,
            'figures': self.figures,
            'ratios': self.ratios,
            'targets': targets,
            'notes': self.notes,
            'details': self.details,
        })


def _round(value: Any) -> Any:
    if isinstance(value, float) and math.isfinite(value) and value != 0:
        return float(f'{value:.6g}')
    return value


def evaluate(op: str, measured: Any, bound: float) -> bool | None:
    """
    Check a measured value against a target.

    :param op: Comparison operator.
    :param measured: The value (None = not measured).
    :param bound: The target bound.

    :returns: Whether the target is met, or None if nothing was measured.
    """
    if not isinstance(measured, (int, float)) or not math.isfinite(measured):
        return None
    return OPERATORS[op](float(measured), bound)


# The reference implementation's learner sizes (shared TASKS.md), which the epoch time
# figures are for: benchmarks of an epoch pin them, whatever a task's YAML tunes for learning.
REFERENCE_EPOCH = {
    'learner.cycles': 50, 'learner.rollouts': 2, 'learner.batches': 40,
    'learner.batch_size': 256, 'learner.nlayers': 4, 'learner.layer_width': 256,
    'learner.evals': 100,
}
# Its network and batch sizes alone: the update and rollout benchmarks compare at these sizes
# (the bare update is 4 x 256 at batch 256), not at the width a task's YAML chose.
REFERENCE_NETWORK = {key: REFERENCE_EPOCH[key] for key in (
    'learner.nlayers', 'learner.layer_width', 'learner.batch_size')}

# Tiny sizes for the smoke runs of the benchmarks that train with demonstrations.
QUICK_TRAINING = {
    'learner.cycles': 2, 'learner.batches': 2, 'learner.batch_size': 32, 'learner.evals': 4,
    'learner.nlayers': 2, 'learner.layer_width': 32, 'learner.trajectory_length': 5,
    'learner.replay_capacity': 20, 'learner.threads': 1, 'model.nthread': 1,
    'planner.max_main_nodes': 40, 'planner.steps_per_goal': 2, 'planner.num_sub_goals': 0,
    'planner.extensions': 4, 'planner.searches': 2, 'planner.demonstrations': 1,
}


def write_result(result: Mapping[str, Any], out_dir: Path | None = None) -> Path:
    """
    Write a result to ``<out_dir>/<name>.json`` (written whole, then renamed into place).

    :param result: A benchmark's result.
    :param out_dir: Directory; default ``bench/results``.

    :returns: The file written.
    """
    directory = Path(out_dir) if out_dir is not None else RESULTS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f'{result["name"]}.json'
    partial = path.with_suffix('.json.partial')
    partial.write_text(json.dumps(clean(result), indent=2, allow_nan=False) + '\n',
                       encoding='utf-8')
    partial.replace(path)
    return path


def fresh_checkpoint(task: str, directory: str) -> str:
    """
    Save a checkpoint of a task's default network (untrained) with a fed normalizer.

    Latency does not depend on the weights, so the latency benchmarks measure this one when no
    trained checkpoint is given.

    :param task: Task name.
    :param directory: Output directory.

    :returns: The checkpoint directory.
    """
    learner = make_learner(make_params(task), output_dir=directory, save_local=True)
    generator = torch.Generator().manual_seed(0)
    learner.state_norm.update(learner.plant.sample_start_states(256, generator))
    learner.state_norm.update(learner.plant.sample_goal_states(256, generator))
    learner.save_checkpoints()
    return learner.last_checkpoint


def time_calls(call: Callable[[], Any], count: int, prepare: Callable[[], Any] | None = None
               ) -> np.ndarray:
    """
    Time single calls, running ``prepare`` untimed before each.

    :param call: What to time.
    :param count: Number of calls.
    :param prepare: Untimed set-up before each call.

    :returns: Each call's duration in microseconds.
    """
    samples = np.empty(count)
    clock = time.perf_counter_ns
    for i in range(count):
        if prepare is not None:
            prepare()
        started = clock()
        call()
        samples[i] = clock() - started
    return samples / 1e3


def latency_figures(samples: np.ndarray) -> dict[str, float]:
    """
    Summarize durations.

    :param samples: Durations in microseconds.

    :returns: p50, p99 and mean, rounded to 0.1 us.
    """
    return {'p50': round(float(np.percentile(samples, 50)), 1),
            'p99': round(float(np.percentile(samples, 99)), 1),
            'mean': round(float(samples.mean()), 1)}


def latency_parser(description: str, results: Path, iterations: int, rounds: int
                   ) -> argparse.ArgumentParser:
    """
    Build the argument parser the latency benchmarks share.

    :param description: The benchmark's one-line description.
    :param results: Default JSON file.
    :param iterations: Default timed calls per variant.
    :param rounds: Default turns the variants take.

    :returns: The parser; add benchmark-specific arguments, then use :func:`parse_latency_args`.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('--checkpoint', default=None,
                        help='checkpoint to measure (default: a fresh default network)')
    parser.add_argument('--task', default='planar_hand',
                        help='task of the fresh network (default: %(default)s)')
    parser.add_argument('--iterations', type=int, default=iterations,
                        help='timed calls per variant (default: %(default)s)')
    parser.add_argument('--rounds', type=int, default=rounds,
                        help='turns the variants take (default: %(default)s)')
    parser.add_argument('--output', default=str(results), help='JSON file (default: %(default)s)')
    return parser


def parse_latency_args(parser: argparse.ArgumentParser, argv: Sequence[str] | None
                       ) -> argparse.Namespace:
    """
    Parse and check latency-benchmark arguments.

    :param parser: From :func:`latency_parser`.
    :param argv: Arguments (default: ``sys.argv[1:]``).

    :returns: The parsed arguments.
    """
    args = parser.parse_args(argv)
    if args.iterations < args.rounds or args.rounds < 1:
        parser.error('expected --rounds >= 1 and --iterations >= --rounds')
    return args
