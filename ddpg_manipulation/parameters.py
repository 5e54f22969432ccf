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
Every task parameter, declared once: flat name, type, default, constraint and doc.

A declaration in :class:`Parameters` reads::

    learner_batch_size: int = key(256, 'transitions per DDPG update', POSITIVE)

The flat name gives the YAML key (``learner.batch_size``: the part before the first underscore
is the section where it names one), the annotation is the type that the loader enforces and a
type checker sees, and :func:`key` holds the default, the doc and the constraints. The loader
(``config.py``), the reference ``tasks/defaults.yaml`` and its test all derive from this table:
``python -m ddpg_manipulation.parameters --write`` renders the YAML from it.
"""

# No `from __future__ import annotations`: the annotations are read at run time as types.
import argparse
import dataclasses
from pathlib import Path
import re
import sys
import textwrap
import typing
from typing import Any, Callable, Literal

DEFAULTS_FILE = Path(__file__).resolve().parent / 'tasks' / 'defaults.yaml'

# The YAML sections; a flat name starting with `<section>_` is the key `<section>.<rest>`.
SECTIONS = ('model', 'start', 'goal', 'reward', 'action', 'learner', 'planner')


@dataclasses.dataclass(frozen=True)
class Check:
    """
    A constraint on one value, tested after the whole task is loaded.

    :param ok: True where the value is acceptable.
    :param message: The complaint otherwise, formatted with ``value``.
    :param label: The expected form in a few words, as ``defaults.yaml`` shows it.
    """

    ok: Callable[[Any], bool]
    message: str
    label: str


POSITIVE = Check(lambda x: x > 0, 'expected a number > 0, got {value}', '> 0')
NON_NEGATIVE = Check(lambda x: x >= 0, 'expected a number >= 0, got {value}', '>= 0')
UNIT_INTERVAL = Check(lambda x: 0 <= x <= 1, 'expected a number in [0, 1], got {value}',
                      '0 to 1')
NON_NEGATIVE_ENTRIES = Check(lambda xs: all(x >= 0 for x in xs), 'expected numbers >= 0',
                             'entries >= 0')
SOME_POSITIVE_ENTRY = Check(lambda xs: any(x > 0 for x in xs),
                            'expected at least one positive entry', 'one entry > 0')
SOME_POSITIVE_WEIGHT = Check(lambda xs: sum(xs) > 0, 'expected at least one positive weight',
                             'one weight > 0')
# The torch devices a device parameter may name (`learning/devices.py` resolves them). `[0-9]`,
# not `\d`, which also matches the digits of other scripts.
DEVICE_PATTERN = re.compile(r'auto|cpu|cuda(:[0-9]+)?')
DEVICE_FORMS = 'auto, cpu, cuda or cuda:N'
TORCH_DEVICE = Check(lambda text: DEVICE_PATTERN.fullmatch(text) is not None,
                     f'expected {DEVICE_FORMS} (N an integer >= 0), got {{value!r}}',
                     DEVICE_FORMS)

# Vector lengths: the model's state size nq+nv+na, its tangent size 2nv+na (one value per degree
# of freedom, then per velocity and activation: `sim/state_space.py`), its actuator count nu, or
# a fixed number.
Size = Literal['state', 'tangent', 'action'] | int


@dataclasses.dataclass(frozen=True)
class Key:
    """
    The declaration of one parameter.

    :func:`key` gives the first four fields; :data:`DECLARATIONS` adds the name, YAML key and
    type from the class body.

    :param default: Its value where a task does not set it.
    :param doc: What it means, as ``defaults.yaml`` shows it.
    :param checks: Constraints on the value, tested in order.
    :param size: For a vector, the length it must have.
    :param name: The flat attribute name (``learner_batch_size``).
    :param dotted: The YAML key (``learner.batch_size``).
    :param annotation: The annotated type: ``bool``, ``int``, ``float``, ``str``, ``list[float]``
        or a ``Literal`` of the strings it may take.
    """

    default: Any
    doc: str
    checks: tuple[Check, ...] = ()
    size: Size | None = None
    name: str = ''
    dotted: str = ''
    annotation: Any = None

    @property
    def choices(self) -> tuple[str, ...]:
        """Return the strings a ``Literal`` key may take; empty for any other type."""
        is_literal = typing.get_origin(self.annotation) is Literal
        return typing.get_args(self.annotation) if is_literal else ()


def key(default: Any, doc: str, *checks: Check, size: Size | None = None) -> Any:
    """
    Declare a parameter in the body of :class:`Parameters`.

    The result stands in for the value in the class body (as ``dataclasses.field`` does), so
    that the attribute keeps the type of its annotation.

    :param default: The default value, of the annotated type.
    :param doc: What the parameter means, for ``defaults.yaml``.
    :param checks: Constraints on the value.
    :param size: For a vector: ``'state'``, ``'action'`` or a fixed length.

    :returns: The declaration.
    """
    return Key(default, doc, checks, size)


class Parameters:
    """The parameters of a task under their flat names; ``ParameterContainer`` fills them in."""

    seed: int = key(0, 'seeds torch, numpy and the start/goal samplers')

    model_filename: str = key('', 'MJCF file, relative to the task YAML (required)')
    model_nthread: int = key(
        0, 'MuJoCo rollout threads; 0 = the cores this process may use (in training with '
        '`learner.threads` 0, fewer while another process competes for them)', NON_NEGATIVE)
    model_camera: str = key(
        '', 'camera of the model that `eval --render` and picture strips show; empty = a free '
        'camera fitted to the scene')

    start_state: list[float] = key(
        [], 'nominal start state `[qpos, qvel(, act)]`; a free joint holds x, y, z and a unit '
        'quaternion w, x, y, z', size='state')
    start_bound_lower: list[float] = key(
        [], 'lower bound of the start states, sampled uniformly between the bounds, per degree '
        'of freedom: where the model has a free or ball joint, its orientation takes three '
        'slots, roll, pitch, yaw in rad (q = Rz(yaw) Ry(pitch) Rx(roll)); the velocities follow',
        size='tangent')
    start_bound_upper: list[float] = key([], 'upper bound of the start states', size='tangent')

    goal_state: list[float] = key([], 'nominal goal state', size='state')
    goal_bound_lower: list[float] = key(
        [], 'lower bound of the goal states, sampled uniformly between the bounds (per degree of '
        'freedom, as the start bounds)', size='tangent')
    goal_bound_upper: list[float] = key([], 'upper bound of the goal states', size='tangent')

    reward_distance_scaling: list[float] = key(
        [], 'diagonal scaling of the state distance, per degree of freedom: the three slots of '
        'an orientation weight the rotation vector from the goal orientation to the state '
        '(radians, the shorter way round), the velocities follow',
        NON_NEGATIVE_ENTRIES, SOME_POSITIVE_ENTRY, size='tangent')
    reward_proximity_scaling: float = key(
        0.0, 'planner: weight of the finger-to-object distance', NON_NEGATIVE)
    reward_reachability_scaling: float = key(
        0.0, 'planner: weight of the log control effort the linearized dynamics need to move '
        'the object to the (sub-)goal from a node (0 = off: it costs a finite difference per '
        'node)', NON_NEGATIVE)

    action_bound_lower: list[float] = key(
        [], 'lower bound of the actuator targets', size='action')
    action_bound_upper: list[float] = key(
        [], 'upper bound of the actuator targets', size='action')
    action_range: list[float] = key(
        [], 'relative action per second at |a| = 1', NON_NEGATIVE_ENTRIES, size='action')
    action_time_step: float = key(
        0.4, 'seconds per action; first-order hold over the physics steps', POSITIVE)
    action_start_mode: Literal['current', 'previous'] = key(
        'current', 'where the first-order hold of an action step starts: `current` at the '
        'actuated position, `previous` at the previous end action (the first step of a rollout '
        'falls back to the current position). `current` for both modes keeps the dynamics '
        'Markov in the state')
    action_end_mode: Literal['current', 'previous'] = key(
        'current', 'what the relative action is added to for the end action: `current` the '
        'actuated position, `previous` the previous end action (the first step of a rollout '
        'falls back to the current position)')

    learner_epochs: int = key(20, 'default epochs of `ddpg-manipulation train`', NON_NEGATIVE)
    learner_cycles: int = key(50, 'cycles per epoch', POSITIVE)
    learner_rollouts: int = key(2, 'environments per cycle, run as one batch', POSITIVE)
    learner_batches: int = key(40, 'DDPG updates per cycle', POSITIVE)
    learner_batch_size: int = key(256, 'transitions per DDPG update', POSITIVE)
    learner_trajectory_length: int = key(75, 'action steps per rollout', POSITIVE)
    learner_evals: int = key(
        100, 'evaluation episodes per epoch, run as one batch', POSITIVE)
    learner_validation_evals: int = key(
        100, 'validation episodes per epoch, with their own seed, apart from the reported '
        'evaluation: the epoch whose validation is best is the result of a run (its checkpoint '
        'is kept and is what a run directory resolves to). 0 = no validation: the newest '
        'checkpoint is the result', NON_NEGATIVE)
    learner_nlayers: int = key(4, 'hidden layers of the actor and critic networks', POSITIVE)
    learner_layer_width: int = key(256, 'units per hidden layer', POSITIVE)
    learner_actor_lr: float = key(0.001, 'learning rate of the actor', POSITIVE)
    learner_critic_lr: float = key(0.001, 'learning rate of the critic', POSITIVE)
    learner_tau: float = key(0.05, 'soft target update fraction, once per cycle', UNIT_INTERVAL)
    learner_discount: float = key(0.98, 'discount factor of the return', UNIT_INTERVAL)
    learner_noise_std: float = key(
        0.2, 'Gaussian exploration noise on the normalized action', NON_NEGATIVE)
    learner_random_eps: float = key(
        0.3, 'probability of a uniformly random action', UNIT_INTERVAL)
    learner_action_clip: float = key(
        1.0, 'normalized actions are clipped to +- this')
    learner_action_l2: float = key(
        1.0, 'penalty on the squared normalized action in the actor loss', NON_NEGATIVE)
    learner_demo_bc_weight: float = key(
        1.0, 'weight of a behaviour-cloning loss on the demonstrations in each batch, applied '
        'only where the critic values the demonstrated action above that of the actor (the '
        'Q-filter of Nair et al. 2018), on the output before the tanh of the actor. Seeds that '
        'never learnt without it (box_push 8, planar_hand 5) learn with it (0 = off: the '
        'reference learner; see docs/learning.md)', NON_NEGATIVE)
    learner_average_tau: float = key(
        0.05, 'an exponentially averaged copy of the actor, moved this fraction towards it once '
        'per cycle, is the policy that is evaluated, saved for deployment and exported (0 = '
        'off: the actor itself; see docs/learning.md)', UNIT_INTERVAL)
    learner_critic_layer_norm: bool = key(
        True, 'LayerNorm after each hidden layer of the critic (false: the reference critic; '
        'see docs/learning.md)')
    learner_cuda_graphs: bool = key(
        False, 'on a CUDA device, capture one DDPG update as a CUDA graph and replay it for '
        'every batch (one launch instead of dozens). Off until '
        'measured faster on a GPU (`python -m bench gpu`)')
    learner_replay_capacity: int = key(10000, 'replay buffer size in trajectories', POSITIVE)
    learner_her_probability: float = key(
        0.0, 'probability to relabel a sampled goal with a future state', UNIT_INTERVAL)
    learner_reward_type: Literal['sparse', 'dense', 'mixed'] = key(
        'sparse', '`sparse` (-1 until success), `dense` (-clipped rel. distance) or `mixed` '
        '(their mean: graded everywhere, a step at success)')
    learner_final_success_distance: float = key(
        0.05, 'relative distance counted as success', POSITIVE)
    learner_terminate_on_success: bool = key(
        True, 'whether reaching the success distance ends the value backup (the target '
        'bootstraps no further). Evaluation judges the last state of an episode, so with `true` '
        'a trajectory that sweeps through the goal and out again is valued like one that stops '
        'there')
    learner_normalizer_clip: float = key(
        5.0, 'normalized observations are clipped to +- this', POSITIVE)
    learner_normalizer_update_clip: float = key(
        0.0, 'states are clipped to the mean +- this many standard deviations of the statistics '
        'so far before they join them (0: joined as they are)', NON_NEGATIVE)
    learner_use_planner: bool = key(
        False, 'inject planner demonstrations (tasks enable it)')
    learner_injection_strategy: Literal['initial', 'fixed', 'decreasing'] = key(
        'fixed', '`initial`, `fixed` share, or `decreasing` with success rate')
    learner_max_planner_experience_share: float = key(
        0.25, 'share of the rollouts replaced by demonstrations (`fixed`; `decreasing` scales '
        'it by 1 - the success rate)', UNIT_INTERVAL)
    learner_initial_injections: int = key(
        100, 'demonstrations injected before training (`initial` strategy)', NON_NEGATIVE)
    learner_checkpoint_every: int = key(
        1, 'epochs between checkpoints (the last epoch is always saved)', POSITIVE)
    learner_threads: int = key(
        0, 'torch intra-op threads of the updates (a rollout step runs on one). 0 = adapt: the '
        'cores this process may use while they are free, fewer while another process competes '
        'for them (measured every cycle; results do not depend on it, except with 5 to 7 '
        'actions, as floating_hand: see docs/performance.md). With 0 on the CPU, the MuJoCo '
        'rollout threads are adapted too, by their own speed, unless `model.nthread` fixes them',
        NON_NEGATIVE)
    learner_device: str = key(
        'auto', 'torch device for the networks, replay storage and updates (`auto`: CUDA if '
        'available, else the CPU); MuJoCo always runs on the CPU',
        TORCH_DEVICE)

    planner_max_main_nodes: int = key(
        3000, 'nodes per search (every action step is a node); a search that used them stops '
        'and says so', POSITIVE)
    planner_num_sub_goals: int = key(
        30, 'phases of `steps_per_goal` steps: the main goal, then alternately a sub-goal '
        'sampled within the goal bounds and the main goal again, `num_sub_goals` times',
        NON_NEGATIVE)
    planner_steps_per_goal: int = key(30, 'search steps per (sub-)goal', POSITIVE)
    planner_extensions: int = key(
        16, 'nodes extended per search step and search, simulated batched', POSITIVE)
    planner_action_steps_max: int = key(
        3, 'an extension holds its action for 1..action_steps_max steps', POSITIVE)
    planner_termination_distance: float = key(
        0.05, 'relative distance that ends the search', POSITIVE)
    planner_action_distribution: list[float] = key(
        [1.0, 2.0, 1.0, 2.0], 'ranged, proximity, continuation, gradient',
        NON_NEGATIVE_ENTRIES, SOME_POSITIVE_WEIGHT, size=4)
    planner_finite_diff_eps: float = key(
        1.0e-6, 'gradient strategy: finite-difference step', POSITIVE)
    planner_gradient_step: float = key(
        1.0, 'gradient strategy: step length in normalized action units', NON_NEGATIVE)
    planner_pareto_bias: float = key(
        0.5, 'probability of choosing an extension node on the Pareto front', UNIT_INTERVAL)
    planner_cell_size: float = key(
        0.1, 'the draws off the Pareto front explore: uniform over occupied cells of a grid over '
        'the scaled state (the dimensions in the goal distance, cell edge `cell_size` in scaled '
        'units), then uniform within the cell, so rarely reached configurations are extended as '
        'often as crowded ones. 0 = uniform over nodes', NON_NEGATIVE)
    planner_searches: int = key(
        8, 'demonstration graph (`train` with demonstrations): `searches` searches side by side, '
        'the first from the nominal start and the others from sampled starts; after reaching '
        'the goal, each is driven to `demonstrations` further goals sampled in the goal bounds, '
        'so that the graph holds a path towards any goal the learner samples. `max_main_nodes` '
        'is per search', POSITIVE)
    planner_demonstrations: int = key(
        64, 'goals per search the graph is spread over after the search', POSITIVE)
    planner_demonstration_hold: int = key(
        10, 'steps of holding still appended while still a success', NON_NEGATIVE)
    planner_hold_targets: bool = key(
        False, 'how a demonstration holds still: `false` with zero relative actions (the '
        'actuator targets follow the joints where they are), `true` keeping the targets where '
        "the path's last action left them (the relative action of each step is the target "
        'minus the position): a grasp that squeezes stays closed. The same with `previous` '
        'action modes')
    planner_proximity_site: str = key(
        'object', 'object site of the proximity reward and strategy; the effector sites are all '
        "other moving sites not on the object's body. In `planner`, not `reward`: it does not "
        'define the task')


def _dotted(name: str) -> str:
    section, _, rest = name.partition('_')
    return f'{section}.{rest}' if section in SECTIONS and rest else name


def _declarations() -> dict[str, Key]:
    hints = typing.get_type_hints(Parameters)
    return {
        _dotted(name): dataclasses.replace(value, name=name, dotted=_dotted(name),
                                           annotation=hints[name])
        for name, value in vars(Parameters).items() if isinstance(value, Key)
    }


# Every key by its YAML name (`learner.batch_size`), in declaration order.
DECLARATIONS = _declarations()

_HEADER = """\
# Copyright 2026 The ddpg_manipulation Authors
# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# Generated from the declarations in ddpg_manipulation/parameters.py (`python -m
# ddpg_manipulation.parameters --write`): edit them there; this file is the reference.
#
# Every parameter a task may set, with its default. A task YAML overrides a subset of these; any
# key not listed here is rejected. Each `section.key` is exposed flat as `params.section_key`
# (e.g. `learner.batch_size` -> `params.learner_batch_size`); top-level keys keep their name.
# The expected form of a value, where it has one, closes its comment in brackets (vector
# lengths in the model's sizes: nq+nv+na the state, 2nv+na its degrees of freedom (the same
# where the model has no free or ball joint), nu the actuators).
#
# A key whose default has a decimal point takes any number, one whose default has none an
# integer. Numbers are plain YAML numbers. A number field may also hold the literal forms `pi`,
# `-pi`, `pi/2`, `2*pi`, `3*pi/4` (parsed, never evaluated). Nothing else is interpreted."""
_WIDTH = 99
# Inline comments start at this column where the line leaves room.
_COMMENT_COLUMN = 31
_SIZE_NAMES: dict[Size, str] = {'state': 'nq+nv+na', 'tangent': '2nv+na',
                                'action': 'nu'}


def _yaml_value(value: Any) -> str:
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, float):
        text = repr(value)
        # YAML 1.1 (PyYAML) reads an exponent without a decimal point, `1e-06`, as a string.
        return text if 'e' not in text or '.' in text else text.replace('e', '.0e')
    if isinstance(value, list):
        return '[' + ', '.join(_yaml_value(item) for item in value) + ']'
    if isinstance(value, str) and not re.fullmatch(r'[a-z_]+', value):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


def _comment(declaration: Key) -> str:
    forms = [check.label for check in declaration.checks]
    if declaration.size is not None:
        forms.insert(0, f'length {_SIZE_NAMES.get(declaration.size, declaration.size)}')
    if declaration.choices:
        forms.insert(0, ' | '.join(declaration.choices))
    return declaration.doc + (f' [{"; ".join(forms)}]' if forms else '')


def render_defaults() -> str:
    """
    Render ``tasks/defaults.yaml``: every key with its default and doc, in declaration order.

    :returns: The file's text.
    """
    lines = [_HEADER]
    section = None
    for declaration in DECLARATIONS.values():
        head, _, name = declaration.dotted.rpartition('.')
        if head != section:
            lines.append('')
            if head:
                lines.append(f'{head}:')
            section = head
        indent = '  ' if head else ''
        line = f'{indent}{name or declaration.dotted}: {_yaml_value(declaration.default)}'
        comment = _comment(declaration)
        inline = f'{line.ljust(_COMMENT_COLUMN - 2)}  # {comment}'
        if len(inline) <= _WIDTH:
            lines.append(inline)
            continue
        lines.extend(textwrap.wrap(comment, _WIDTH, initial_indent=f'{indent}# ',
                                   subsequent_indent=f'{indent}# ', break_on_hyphens=False))
        lines.append(line)
    return '\n'.join(lines) + '\n'


def main(argv: list[str] | None = None) -> None:
    """
    Print the rendered ``tasks/defaults.yaml``, or write it in place with ``--write``.

    :param argv: Command-line arguments; default ``sys.argv[1:]``.
    """
    parser = argparse.ArgumentParser(description='Render tasks/defaults.yaml.')
    parser.add_argument('--write', action='store_true', help=f'write {DEFAULTS_FILE}')
    args = parser.parse_args(argv)
    if args.write:
        DEFAULTS_FILE.write_text(render_defaults(), encoding='utf-8')
    else:
        sys.stdout.write(render_defaults())


if __name__ == '__main__':
    main()
