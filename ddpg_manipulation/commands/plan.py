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

"""``ddpg-manipulation plan``: one search from the nominal start; graph, plot and summary."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from ddpg_manipulation.atomic import write_json
from ddpg_manipulation.commands.train import load_params
from ddpg_manipulation.config import bundled_tasks, ConfigError


def configure(parser: argparse.ArgumentParser) -> None:
    """
    Declare the arguments of ``plan``.

    :param parser: The subcommand's parser.
    """
    parser.add_argument('--task', default='box_push',
                        help=f'bundled task ({", ".join(bundled_tasks())}) or a task YAML path '
                             '(default: %(default)s)')
    parser.add_argument('--seed', type=int, default=None, help="random seed (default: task's)")
    parser.add_argument('--output', default=None,
                        help='directory for graph.pt, best_path.png and plan_summary.json '
                             '(default: runs/plan/TASK)')
    parser.add_argument('--set', dest='sets', action='append', default=[], metavar='KEY=VALUE',
                        help='override a parameter, e.g. --set planner.extensions=32 '
                             '(repeatable)')
    parser.add_argument('--quiet', action='store_true', help='no progress bar')


def run(args: argparse.Namespace) -> int:
    """
    Search once, print the outcome and write the graph, a best-path plot and a summary.

    :param args: Parsed arguments.

    :returns: Exit code 0 (also when the goal was not reached: the summary says so).
    """
    import warnings

    from ddpg_manipulation.planner.graph_file import save_graph
    from ddpg_manipulation.planner.search import plan
    from ddpg_manipulation.sim.plant import MujocoPlant

    params = load_params(args)
    output = Path(args.output) if args.output else Path('runs') / 'plan' / params.task_name
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f'--output {output}: cannot create the directory ({error})') from error
    if not os.access(output, os.W_OK):
        raise ConfigError(f'--output {output}: directory is not writable')

    plant = MujocoPlant(params)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always', RuntimeWarning)
        graph, result = plan(params, plant, show_progress=not args.quiet)
    for warning in caught:
        print(f'warning: {warning.message}')
    best = graph.get_best_id(reward_based=False, search_index=0)
    graph_file = save_graph(graph, output / 'graph.pt')
    plot_file = plot_path(graph, best, output / 'best_path.png')
    summary = {
        'task': params.task_name,
        'seed': params.seed,
        'best_relative_distance': result.best_relative_distance,
        'reached': bool(result.reached[0]),
        'termination_distance': params.planner_termination_distance,
        'nodes': result.nodes,
        'steps': result.steps,
        'seconds': round(result.seconds, 3),
        'graph_full': result.full,
        'best_path_length': int(graph.depths[best]),
        'strategy_counts': result.strategy_counts,
        'graph': str(graph_file),
        'plot': str(plot_file),
    }
    write_json(output / 'plan_summary.json', summary)
    state = 'reached' if summary['reached'] else 'did not reach'
    print(f'{params.task_name}: {state} the goal: best relative distance '
          f'{result.best_relative_distance:.4f} (termination '
          f'{params.planner_termination_distance}), {result.nodes} nodes, {result.steps} steps, '
          f'{result.seconds:.2f} s')
    print(json.dumps(summary))
    return 0


def plot_path(graph: Any, node: int, path: str | os.PathLike) -> Path:
    """
    Plot the states and relative actions along the path from the root to a node.

    :param graph: The planner's graph.
    :param node: Last node of the path.
    :param path: PNG to write.

    :returns: The PNG path.
    """
    from ddpg_manipulation.plotting import new_figure, save_figure_atomically

    ids = graph.shortest_path_to(node)
    model = graph.plant.model
    space = graph.plant.state_space
    # Per degree of freedom, as the distance scaling: an orientation as its rotation vector.
    states = space.coordinates(graph.states[ids]).numpy()
    actions = graph.relative_actions[ids[1:]].numpy()
    goal = space.coordinates(graph.goal_states[int(graph.search_indices[node])]).numpy()
    scaling = graph.distance_scaling.numpy()
    names = space.names
    figure = new_figure(figsize=(13, 4), layout='constrained')
    axes = figure.subplots(1, 2)
    steps = range(len(ids))
    for i, name in enumerate(names):
        style = '-' if scaling[i] > 0 else ':'
        line, = axes[0].plot(steps, states[:, i], style, label=name)
        if scaling[i] > 0:
            axes[0].axhline(goal[i], color=line.get_color(), linewidth=0.8, alpha=0.5)
    axes[0].set_title('states on the best path (solid: in the goal distance; thin: goal)')
    axes[0].set_xlabel('action step')
    axes[0].legend(fontsize=7, ncol=2)
    for j in range(actions.shape[1]):
        axes[1].step(range(1, len(ids)), actions[:, j], where='post',
                     label=model.actuator(j).name or f'actuator {j}')
    axes[1].set_title('relative actions')
    axes[1].set_xlabel('action step')
    axes[1].legend(fontsize=7)
    figure.suptitle(f'{graph.params.task_name}: best path, {len(ids) - 1} action steps')
    return save_figure_atomically(figure, path)
