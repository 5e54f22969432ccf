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

"""Node parameters, parameter files and launch arguments, checked without ROS."""

import ast
import math
from pathlib import Path

import numpy as np
import pytest

from ddpg_manipulation.ros.bridge_logic import bridge_overrides, BRIDGE_PARAMS
from ddpg_manipulation.ros.launch_args import (
    as_bool,
    as_float,
    as_float_list,
    as_int,
    bridge_names,
    bridge_seed,
    exit_message,
    LaunchArgumentError,
    node_parameters,
    text_parameters,
)
from ddpg_manipulation.ros.params import (
    coerce,
    load_task,
    ParameterError,
    ParamSpec,
    parse_overrides,
    positive,
    validate,
)
from ddpg_manipulation.ros.policy_logic import POLICY_PARAMS
from ddpg_manipulation.ros.sim_logic import SIM_PARAMS
from ddpg_manipulation.ros.training_logic import task_overrides, TRAINING_PARAMS

ROOT = Path(__file__).resolve().parents[1]
NODES = {
    'planner_bridge_node': (BRIDGE_PARAMS, 'planner_bridge.yaml'),
    'training_node': (TRAINING_PARAMS, 'training.yaml'),
    'policy_node': (POLICY_PARAMS, 'policy.yaml'),
    'sim_node': (SIM_PARAMS, 'sim.yaml'),
}


# -- coercion and checks ----------------------------------------------------------------------

def test_integers_are_accepted_for_floats_not_the_other_way():
    rate = ParamSpec('control_rate', 100.0, 'Hz', 'float', check=positive)
    assert coerce(rate, 50) == 50.0 and isinstance(coerce(rate, 50), float)
    count = ParamSpec('count', 0, 'n', 'int')
    with pytest.raises(ParameterError, match="parameter 'count': expected an integer"):
        coerce(count, 1.5)
    with pytest.raises(ParameterError, match="parameter 'control_rate': expected a number"):
        coerce(rate, True)
    with pytest.raises(ParameterError, match='finite'):
        coerce(rate, math.inf)


def test_checks_name_the_parameter_and_the_value():
    with pytest.raises(ParameterError, match=r"parameter 'control_rate': expected a number > 0, "
                                             r'got -1.0'):
        validate(POLICY_PARAMS, {'control_rate': -1})
    with pytest.raises(ParameterError, match="parameter 'state_input': expected one of both"):
        validate(POLICY_PARAMS, {'state_input': 'all'})
    with pytest.raises(ParameterError, match="parameter 'checkpoint': expected a non-empty"):
        validate(POLICY_PARAMS, {'checkpoint': ' '})
    with pytest.raises(ParameterError, match="parameter 'auto_reload': expected true or false"):
        validate(POLICY_PARAMS, {'auto_reload': 'yes'})
    with pytest.raises(ParameterError, match="parameter 'epochs': expected a number >= 0"):
        validate(TRAINING_PARAMS, {'epochs': -3})


def test_lists_of_numbers_accept_integers_and_empty_means_default():
    goal = {s.name: s for s in POLICY_PARAMS}['goal']
    assert coerce(goal, [9, 2, 0, 0]) == [9.0, 2.0, 0.0, 0.0]
    assert coerce(goal, np.array([1.5, 2.5])) == [1.5, 2.5]
    assert coerce(goal, '') == [] and coerce(goal, []) == []
    with pytest.raises(ParameterError, match=r"parameter 'goal\[1\]': expected a number"):
        coerce(goal, [1.0, 'x'])
    with pytest.raises(ParameterError, match="parameter 'goal': expected a list of numbers"):
        coerce(goal, 3.0)
    overrides = {s.name: s for s in TRAINING_PARAMS}['overrides']
    assert coerce(overrides, ['a=1']) == ['a=1'] and coerce(overrides, '') == []


@pytest.mark.parametrize('name', sorted(NODES))
def test_every_parameter_has_a_description_and_a_valid_default(name):
    specs, _ = NODES[name]
    values = validate(specs, {})
    assert set(values) == {s.name for s in specs}
    for spec in specs:
        assert len(spec.description) > 10, spec.name
    assert len({s.name for s in specs}) == len(specs)


@pytest.mark.parametrize('name', sorted(NODES))
def test_parameter_files_fit_the_nodes(name):
    specs, filename = NODES[name]
    parameters = node_parameters(ROOT / 'config' / filename, name)
    assert parameters, f'config/{filename} has no {name}: ros__parameters: block'
    known = {s.name for s in specs}
    assert set(parameters) <= known, set(parameters) - known
    assert validate(specs, parameters)
    for key, value in parameters.items():
        assert value != [], f'{filename}: {key}: empty lists do not load in ROS parameter files'


def test_task_and_override_errors_name_the_parameter():
    with pytest.raises(ParameterError, match="parameter 'task': unknown task 'box_pusher'"):
        load_task('box_pusher')
    with pytest.raises(ParameterError, match="parameter 'overrides'.*learner.cycle"):
        load_task('box_push', {'learner.cycle': 3})
    with pytest.raises(ParameterError, match="parameter 'overrides'"):
        parse_overrides(['learner.cycles'])
    assert parse_overrides(['learner.cycles=3', 'action.range=[1, 2]']) == {
        'learner.cycles': 3, 'action.range': [1, 2]}


def test_node_parameters_become_task_overrides():
    values = validate(TRAINING_PARAMS, {'seed': 7, 'threads': 2, 'use_demonstrations': False,
                                        'overrides': ['learner.cycles=2']})
    assert task_overrides(values) == {'learner.cycles': 2, 'seed': 7, 'learner.threads': 2,
                                      'model.nthread': 2, 'learner.use_planner': False}
    assert 'seed' not in task_overrides(validate(TRAINING_PARAMS, {}))
    bridge = validate(BRIDGE_PARAMS, {'seed': 3, 'overrides': ['planner.extensions=4']})
    assert bridge_overrides(bridge) == {'planner.extensions': 4, 'seed': 3}
    params = load_task('box_push', task_overrides(values))
    assert params.seed == 7 and params.learner_cycles == 2 and not params.learner_use_planner


# -- launch arguments -------------------------------------------------------------------------

def test_launch_arguments_are_typed_with_errors_naming_them():
    assert as_bool('autostart', 'True') is True and as_bool('x', 'off') is False
    assert as_int('epochs', ' 12 ') == 12
    assert as_float('control_rate', '100', 0.0, exclusive=True) == 100.0
    assert as_float_list('goal', '[9, 2.5, 0, 0]') == [9.0, 2.5, 0.0, 0.0]
    assert as_float_list('goal', '  ') is None
    for call, match in (
        (lambda: as_bool('autostart', 'maybe'), "'autostart': expected true or false"),
        (lambda: as_int('num_planners', '-1', minimum=0), "'num_planners': expected an "
                                                          'integer >= 0'),
        (lambda: as_int('seed', '1.5'), "'seed': expected an integer"),
        (lambda: as_float('control_rate', '0', 0.0, exclusive=True), "'control_rate': "
                                                                     'expected a number > 0'),
        (lambda: as_float('timeout', 'nan'), "'timeout': expected a finite number"),
        (lambda: as_float_list('goal', '[1, x]'), "'goal': expected a list of numbers"),
        (lambda: as_float_list('goal', '3'), "'goal': expected a list of numbers"),
    ):
        with pytest.raises(LaunchArgumentError, match=match):
            call()


def test_bridges_get_distinct_names_and_seeds():
    assert bridge_names(3) == ['planner_bridge_node', 'planner_bridge_node_1',
                               'planner_bridge_node_2']
    assert bridge_names(0) == []
    seeds = [bridge_seed(0, i) for i in range(3)]
    assert len(set(seeds + [0])) == 4  # all different, and from the trainer's


def test_exit_messages_explain_the_code():
    assert 'goal reached' in exit_message('sim_node', 0)
    assert 'timeout' in exit_message('sim_node', 1)
    assert 'failure' in exit_message('sim_node', -9)


def test_node_parameters_reads_the_block_or_fails_clearly(tmp_path):
    path = tmp_path / 'p.yaml'
    path.write_text('other:\n  ros__parameters:\n    a: 1\n')
    assert node_parameters(path, 'mine') == {}
    path.write_text('mine:\n  ros__parameters: 3\n')
    with pytest.raises(LaunchArgumentError, match='must be a mapping'):
        node_parameters(path, 'mine')
    with pytest.raises(LaunchArgumentError, match='cannot read'):
        node_parameters(tmp_path / 'missing.yaml', 'mine')


def test_text_parameters_keep_strings_text_and_leave_the_rest():
    parameters = {'checkpoint': '2026_01_02_03_04_05', 'device': 'on', 'seed': 3,
                  'control_rate': 50.0, 'use_planner': False, 'goal': [9.0, 2.0]}
    wrapped = text_parameters(parameters, as_text=lambda value: ('text', value))
    assert wrapped == {**parameters, 'checkpoint': ('text', '2026_01_02_03_04_05'),
                       'device': ('text', 'on')}


def test_text_parameters_are_typed_parameter_values_of_launch_ros():
    pytest.importorskip('launch_ros')
    value = text_parameters({'checkpoint': '2026_01_02_03_04_05'})['checkpoint']
    assert value.value_type is str


# -- launch files (read, not run: launch is not installed here) -------------------------------

def _declared_arguments(path):
    tree = ast.parse(path.read_text(encoding='utf-8'))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], 'id', '') == 'ARGUMENTS':
            return [(elt.elts[0].value, elt.elts[2].value) for elt in node.value.elts]
    raise AssertionError(f'{path.name}: no ARGUMENTS table')


@pytest.mark.parametrize('launch_file, required', [
    ('train.launch.py', {'task', 'epochs', 'seed', 'output_dir', 'num_planners', 'demo_topic'}),
    ('policy.launch.py', {'checkpoint', 'task', 'command_topic', 'control_rate', 'autostart'}),
    ('sim_policy.launch.py', {'task', 'checkpoint', 'timeout', 'exit_on_success'}),
])
def test_launch_files_declare_their_arguments_with_descriptions(launch_file, required):
    path = ROOT / 'launch' / launch_file
    compile(path.read_text(encoding='utf-8'), str(path), 'exec')
    arguments = dict(_declared_arguments(path))
    assert required <= set(arguments)
    assert all(len(description) > 10 for description in arguments.values())
