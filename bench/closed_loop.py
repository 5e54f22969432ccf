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
Closed loop: what ``sim_policy.launch.py`` does with a checkpoint, without ROS.

The logic of both nodes of the launch runs on a simulated clock, wired as the launch wires
them: ``sim_node``'s ``SimController`` (the physics held until the first command, a wall-clock
``timeout``) publishes its full state, which ``policy_node``'s ``PolicyController`` reads as
``~/state`` (``state_input: state``) and answers with a command per control tick (a policy
query per action time step, first-order hold in between), which the sim applies. Only the
transport is missing. The checkpoint is resolved as the policy node resolves it (``latest``
under ``runs`` by default, the run's best checkpoint).

Episodes: the first starts and ends where the launch does by default (the task's nominal start
and goal); the others are those of ``ddpg-manipulation eval --episodes N --seed S``. Per task it
reports the share of episodes in which ``sim_node`` would report the goal reached (the relative
distance once below the success distance within the timeout: ``ros2 launch`` exits 0), the
simulated seconds until then, and, at the end of an evaluation episode (the task's trajectory
length in action steps), the success rate that ``eval`` counts, beside ``eval``'s own on the same
episodes (their ratio is 1 where the nodes act as the plant's rollouts do).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import tempfile
from typing import Any, Sequence, TYPE_CHECKING

import numpy as np

from bench import RESULTS_DIR
from bench.learners import fresh_checkpoint
from bench.result import Bench, write_result
from bench.timing import median

if TYPE_CHECKING:
    from ddpg_manipulation.config import ParameterContainer
    from ddpg_manipulation.policy import Policy

NAME = 'closed_loop'
TASKS = ('hand_cube',)
QUICK_TASK = 'box_reach'  # an untrained network: the loop's wiring only


def loop_episode(policy: Policy, params: ParameterContainer, start: np.ndarray | None,
                 goal: np.ndarray | None, control_rate: float, timeout: float) -> dict[str, Any]:
    """
    Run one episode of the launch's two nodes' logic on a simulated clock.

    :param policy: The loaded policy (``ros.policy_logic.load_policy``).
    :param params: The task's parameters (as the sim node builds them).
    :param start: Start state, or None for the task's nominal start.
    :param goal: Goal state, or None for the task's nominal goal.
    :param control_rate: Hz of the policy's commands and of the sim's state messages.
    :param timeout: Wall seconds (here simulated ones) until ``sim_node`` gives up.

    :returns: ``reached`` (as sim_node reports it), ``seconds`` to the goal (None if not),
        ``final_distance`` at the end of an evaluation episode, and the nodes' counters.
    """
    from ddpg_manipulation.ros.policy_logic import PolicyController, TaskContext
    from ddpg_manipulation.ros.sim_logic import SimController

    context = TaskContext.of(policy)
    sim = SimController(params, start_state=start, goal=goal, timeout=timeout,
                        wait_for_command=True)
    controller = PolicyController(
        policy, control_rate, state_timeout=0.5, goal=sim.goal, joint_map=context.joint_map,
        base_state=context.start_state, pose_map=context.pose_map,
        quaternion_slots=context.quaternion_slots)
    episode_seconds = params.learner_trajectory_length * params.action_time_step
    final_distance = None
    tick = 0
    # Ticks count on integers: a float clock summed 1/rate at a time drifts from the sim's steps.
    while final_distance is None or sim.outcome is None:
        now = tick / control_rate
        controller.set_full_state(sim.state(), now)
        command = controller.step(now).command
        if command is not None:
            sim.apply_command(command, now)
        tick += 1
        sim.advance(tick / control_rate)
        if final_distance is None and sim.sim_time >= episode_seconds - 1e-9:
            final_distance = sim.relative_distance()
    outcome = sim.outcome
    reached = outcome.kind == 'success'
    return {'reached': reached, 'seconds': outcome.sim_time if reached else None,
            'final_distance': final_distance, 'queries': controller.queries,
            'held_ticks': controller.held_ticks, 'stale_ticks': controller.stale_ticks,
            'rejected_commands': sim.rejected_commands}


def run_task(bench: Bench, task: str, checkpoint: str, output_dir: str, episodes: int,
             seed: int | None, control_rate: float, timeout: float) -> None:
    """
    Run a task's episodes in the closed loop and in ``eval``, and record the figures.

    :param bench: Where the figures go.
    :param task: Task name.
    :param checkpoint: ``checkpoint`` parameter of the policy node.
    :param output_dir: ``output_dir`` parameter of the policy node.
    :param episodes: Episodes (the first at the nominal start and goal).
    :param seed: ``eval``'s ``--seed``; None: the task's.
    :param control_rate: Hz of the control ticks.
    :param timeout: Seconds until ``sim_node`` reports a timeout.
    """
    from ddpg_manipulation.commands.eval import task_params
    from ddpg_manipulation.config import ParameterContainer
    from ddpg_manipulation.evaluation import evaluate, evaluation_episodes
    from ddpg_manipulation.ros.policy_logic import load_policy
    from ddpg_manipulation.sim.plant import MujocoPlant

    policy = load_policy(checkpoint, output_dir, task)
    params = ParameterContainer(task)
    plant = MujocoPlant(params)
    sampled = episodes - 1
    starts, goals = evaluation_episodes(plant, params, sampled, seed)  # eval's episodes
    pairs = [(None, None)] + list(zip(starts.double().numpy(), goals.double().numpy()))
    results = []
    for index, (start, goal) in enumerate(pairs):
        result = loop_episode(policy, params, start, goal, control_rate, timeout)
        results.append(result)
        seconds = 'not reached' if result['seconds'] is None else f'{result["seconds"]:.1f} s'
        print(f'{NAME}: {task} episode {index}: goal {seconds}, final relative distance '
              f'{result["final_distance"]:.3f}', flush=True)
    final_success = params.learner_final_success_distance
    looped = results[1:]
    bench.figure(f'{task}_episodes', len(results))
    bench.figure(f'{task}_nominal_reached', int(results[0]['reached']))
    bench.figure(f'{task}_reached_rate', float(np.mean([r['reached'] for r in results])))
    seconds_to_goal = [r['seconds'] for r in results if r['reached']]
    bench.figure(f'{task}_median_seconds_to_goal',
                 median(seconds_to_goal) if seconds_to_goal else None)
    bench.figure(f'{task}_held_ticks', sum(r['held_ticks'] + r['stale_ticks'] for r in results))
    bench.figure(f'{task}_rejected_commands', sum(r['rejected_commands'] for r in results))
    if looped:
        loop_rate = float(np.mean([r['final_distance'] < final_success for r in looped]))
        eval_rate = evaluate(policy, task_params(policy, task), sampled, seed,
                             plant=plant).success_rate
        bench.figure(f'{task}_loop_success_rate', loop_rate)
        bench.figure(f'{task}_eval_success_rate', eval_rate)
        bench.ratio(f'{task}_loop_over_eval', loop_rate / eval_rate if eval_rate else None)
    bench.target(f'{task}_nominal_reached', '>=', 1,
                 f'{task}: sim_policy.launch.py reaches the nominal goal', missing_fails=True)
    plant.close()


def run(quick: bool = False, tasks: Sequence[str] | None = None, checkpoint: str = 'latest',
        output_dir: str = 'runs', episodes: int = 20, seed: int | None = None,
        control_rate: float = 100.0, timeout: float = 60.0) -> dict[str, Any]:
    """
    Run the benchmark.

    :param quick: An untrained box_reach checkpoint, two short episodes (smoke test).
    :param tasks: Tasks (default hand_cube); each needs a checkpoint.
    :param checkpoint: Checkpoint or run directory, or ``latest`` under ``output_dir``.
    :param output_dir: Output root searched for ``latest``.
    :param episodes: Episodes per task.
    :param seed: ``eval``'s ``--seed`` of the episodes after the first; None: the task's.
    :param control_rate: Hz of the control ticks.
    :param timeout: Seconds until ``sim_node`` reports a timeout.

    :returns: The result.
    """
    bench = Bench(NAME, quick)
    with tempfile.TemporaryDirectory() as scratch:
        if quick:
            tasks, episodes, timeout = (QUICK_TASK,), 2, 2.0
            checkpoint = fresh_checkpoint(QUICK_TASK, scratch)
        tasks = tuple(tasks or TASKS)
        bench.config = {'tasks': list(tasks), 'checkpoint': checkpoint,
                        'output_dir': output_dir, 'episodes': episodes, 'seed': seed,
                        'control_rate': control_rate, 'timeout': timeout}
        for task in tasks:
            run_task(bench, task, checkpoint, output_dir, episodes, seed, control_rate, timeout)
    bench.note('simulated time throughout: the nodes without their transport, not a '
               'real-time run (rendering, DDS and the wall clock are not in it)')
    return bench.result()


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """
    Parse the command line.

    :param argv: Arguments.

    :returns: The options.
    """
    parser = argparse.ArgumentParser(prog='python -m bench.closed_loop',
                                     description=__doc__.strip().splitlines()[0])
    parser.add_argument('--tasks', nargs='+', default=list(TASKS))
    parser.add_argument('--checkpoint', default='latest',
                        help="checkpoint or run directory, or 'latest' under --output-dir")
    parser.add_argument('--output-dir', default='runs')
    parser.add_argument('--episodes', type=int, default=20)
    parser.add_argument('--seed', type=int, default=None,
                        help="eval's --seed of the episodes after the first (default: the task's)")
    parser.add_argument('--control-rate', type=float, default=100.0)
    parser.add_argument('--timeout', type=float, default=60.0)
    parser.add_argument('--quick', action='store_true')
    parser.add_argument('--out', default=None, help='results directory')
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """
    Run the closed loop and write the result.

    :param argv: Arguments.

    :returns: Exit code: 0, or 1 where a nominal goal was not reached.
    """
    args = parse_args(argv)
    if args.episodes < 1:
        raise SystemExit(f'python -m bench.closed_loop: error: --episodes must be >= 1, got '
                         f'{args.episodes}')
    result = run(args.quick, args.tasks, args.checkpoint, args.output_dir, args.episodes,
                 args.seed, args.control_rate, args.timeout)
    path = write_result(result, Path(args.out) if args.out else RESULTS_DIR)
    print(json.dumps({'figures': result['figures'], 'result': str(path)}, indent=1))
    return 0 if args.quick or all(t['passed'] for t in result['targets']) else 1


if __name__ == '__main__':
    raise SystemExit(main())
