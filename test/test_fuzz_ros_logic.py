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

"""Property-based fuzzing of the ROS logic: message layouts and the policy controller."""

import os

import numpy as np
import pytest

from ddpg_manipulation.ros.messages import (
    BLOCKS,
    demonstration_to_flat,
    Dim,
    flat_to_demonstration,
    FlatArray,
    LayoutError,
)
from ddpg_manipulation.ros.policy_logic import InputError, PolicyController

# colcon test on a ROS machine may run without the dev extras: skip, do not error.
hypothesis = pytest.importorskip('hypothesis')
given, HealthCheck, settings = hypothesis.given, hypothesis.HealthCheck, hypothesis.settings
st = pytest.importorskip('hypothesis.strategies')


EXAMPLES = 1000 if os.environ.get('FUZZ') == 'long' else 50
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
finite32 = st.floats(-1e6, 1e6, width=32)
anything = st.floats(allow_nan=True, allow_infinity=True, width=64)


@st.composite
def demonstrations(draw):
    nx, nu, rows = draw(st.integers(1, 9)), draw(st.integers(1, 5)), draw(st.integers(1, 12))
    blocks = {name: np.asarray(draw(st.lists(finite32, min_size=rows * width,
                                             max_size=rows * width)),
                               dtype=np.float32).reshape(rows, width)
              for name, width in zip(BLOCKS, [nu if n == 'relative_actions' else nx
                                              for n in BLOCKS])}
    return nx, nu, blocks


@FUZZ
@given(demonstrations())
def test_message_round_trip_is_exact(case):
    nx, nu, blocks = case
    back = flat_to_demonstration(demonstration_to_flat(blocks), nx, nu)
    for name in BLOCKS:
        np.testing.assert_array_equal(back[name], blocks[name])


@FUZZ
@given(demonstrations(), st.data())
def test_malformed_layouts_only_raise_layout_error(case, data):
    nx, nu, blocks = case
    flat = demonstration_to_flat(blocks)
    mutation = data.draw(st.sampled_from(
        ['dims', 'labels', 'data', 'offset', 'task', 'value']))
    dims = list(flat.dims)
    values = flat.data.copy()
    offset = 0
    task = (nx, nu)
    if mutation == 'dims':
        index = data.draw(st.integers(0, len(dims) - 1))
        dims[index] = Dim(dims[index].label, data.draw(st.integers(-3, 50)),
                          data.draw(st.integers(-3, 500)))
    elif mutation == 'labels':
        index = data.draw(st.integers(0, len(dims) - 1))
        dims[index] = Dim(data.draw(st.text(max_size=8)), dims[index].size, dims[index].stride)
    elif mutation == 'data':
        values = np.asarray(data.draw(st.lists(finite32, max_size=60)), dtype=np.float32)
    elif mutation == 'offset':
        offset = data.draw(st.integers(-5, 5))
    elif mutation == 'task':
        task = (data.draw(st.integers(1, 9)), data.draw(st.integers(1, 5)))
    else:
        values[data.draw(st.integers(0, len(values) - 1))] = data.draw(
            st.sampled_from([np.nan, np.inf, -np.inf]))
    try:
        result = flat_to_demonstration(FlatArray(dims, values, offset), *task)
    except LayoutError:
        return
    # Accepted: then it must be a well-formed, finite demonstration of the task's sizes.
    assert all(np.all(np.isfinite(v)) for v in result.values())
    assert result['states'].shape[1] == task[0] and result['relative_actions'].shape[1] == task[1]


@pytest.fixture(scope='module')
def reach_policy(tmp_path_factory):
    from ddpg_manipulation.config import ParameterContainer
    from ddpg_manipulation.learning.build import build_learner
    from ddpg_manipulation.policy import Policy

    params = ParameterContainer('box_reach', {
        'learner.cycles': 1, 'learner.batches': 1, 'learner.evals': 2,
        'learner.layer_width': 32, 'learner.threads': 1, 'model.nthread': 1})
    learner = build_learner(params, None, output_dir=tmp_path_factory.mktemp('runs'))
    learner.train(1)
    return Policy.load(learner.last_checkpoint)


@FUZZ
@given(st.lists(st.tuples(st.lists(anything, min_size=0, max_size=6),
                          st.lists(anything, min_size=0, max_size=6),
                          st.floats(0.0, 0.3)), min_size=1, max_size=12))
def test_controller_outputs_only_finite_targets_within_bounds(reach_policy, feed):
    controller = PolicyController(reach_policy, 10.0, 0.5)
    controller.reset()
    now = 0.0
    lower, upper = reach_policy.actions.lower, reach_policy.actions.upper
    for state, goal, dt in feed:
        now += dt
        for setter, values in ((controller.set_full_state, state), (controller.set_goal, goal)):
            try:
                if setter == controller.set_goal:
                    setter(values)
                else:
                    setter(values, now)
            except InputError:
                pass  # rejected input: dropped, the controller keeps running
        result = controller.step(now)
        if result.command is not None:
            assert result.command.shape == (1,)
            assert np.all(np.isfinite(result.command))
            assert np.all(result.command >= lower) and np.all(result.command <= upper)


def test_extreme_but_finite_states_give_bounded_targets(reach_policy):
    controller = PolicyController(reach_policy, 10.0, 0.5)
    controller.reset()
    for k, value in enumerate([1e30, -1e30, 3.4e38, -3.4e38]):
        controller.set_full_state([value] * 4, 0.1 * k)
        result = controller.step(0.1 * k)
        if result.command is not None:
            assert np.all(np.isfinite(result.command))
            assert -12.0 <= result.command[0] <= 12.0
