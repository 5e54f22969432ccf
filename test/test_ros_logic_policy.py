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

"""PolicyController: the policy node's logic (FOH, staleness, joint names, bounds, reload)."""

import threading

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest

from ddpg_manipulation.config import ParameterContainer
from ddpg_manipulation.learning.build import build_learner
from ddpg_manipulation.learning.checkpoint import CheckpointError
from ddpg_manipulation.ros.joint_map import JointMap
from ddpg_manipulation.ros.params import ParameterError
from ddpg_manipulation.ros.policy_logic import (
    InputError,
    load_policy,
    POLICY_PARAMS,
    PolicyController,
    resolve_checkpoint,
    substeps_per_action,
)
from ddpg_manipulation.sim.actions import ActionSpace, first_order_hold
from ddpg_manipulation.sim.joints import joint_layout

NX, NU = 4, 1
GOAL = np.array([9.0, 2.0, 0.0, 0.0])


class FakePolicy:
    """A policy returning scripted start/end actions, recording how it was queried."""

    def __init__(self, start_end=((0.0,), (4.0,)), nx=NX, nu=NU, lower=-12.0, upper=12.0,
                 time_step=0.4, task='box_reach', path='fake'):
        self.actions = ActionSpace(lower=np.full(nu, lower), upper=np.full(nu, upper),
                                   range=np.ones(nu), time_step=time_step)
        self.state_dimension, self.action_dimension = nx, nu
        self.metadata = {'task': task, 'path': path}
        self.start_end = np.asarray(start_end, dtype=np.float64)
        self.calls = []

    def start_end_actions(self, state, goal, previous_end=None):
        self.calls.append((np.array(state), np.array(goal),
                           None if previous_end is None else np.array(previous_end)))
        return self.start_end.copy()


def controller(policy=None, rate=10.0, timeout=0.5, **kwargs):
    """Return a controller at 10 Hz: 4 ticks per 0.4 s action."""
    return PolicyController(policy or FakePolicy(), rate, timeout, goal=GOAL, **kwargs)


def run(ctrl, ticks, start=0.0, period=0.1, feed=True):
    results = []
    for k in range(ticks):
        now = start + k * period
        if feed:
            ctrl.set_full_state(np.arange(NX, dtype=float), now)
        results.append(ctrl.step(now))
    return results


# -- first-order hold -------------------------------------------------------------------------

def test_substeps_are_the_control_ticks_per_action():
    assert substeps_per_action(0.4, 100.0) == 40
    assert substeps_per_action(0.4, 10.0) == 4
    assert substeps_per_action(0.4, 2.5) == 1
    with pytest.raises(ValueError, match='whole number'):
        substeps_per_action(0.4, 7.0)
    with pytest.raises(ValueError, match='control_rate'):
        substeps_per_action(0.4, 0.0)


def test_targets_move_from_start_to_end_by_first_order_hold():
    ctrl = controller()
    commands = [r.command[0] for r in run(ctrl, 4)]
    assert commands == pytest.approx([1.0, 2.0, 3.0, 4.0])  # start + (end - start) (k+1)/4
    expected = first_order_hold(np.array([[[[0.0], [4.0]]]]), 4)[0, :, 0]
    np.testing.assert_allclose(commands, expected)  # the shared definition


def test_policy_is_queried_once_per_action_with_the_previous_end():
    policy = FakePolicy()
    ctrl = controller(policy)
    results = run(ctrl, 12)
    assert [r.queried for r in results] == [True, False, False, False] * 3
    assert len(policy.calls) == 3
    assert policy.calls[0][2] is None  # first step: no previous end action
    np.testing.assert_array_equal(policy.calls[1][2], [4.0])
    np.testing.assert_array_equal(policy.calls[0][1], GOAL)


def test_no_state_means_no_command():
    result = controller().step(0.0)
    assert result.command is None and result.status == 'waiting'


# -- staleness --------------------------------------------------------------------------------

def test_stale_input_holds_the_last_command_and_does_not_query():
    policy = FakePolicy()
    ctrl = controller(policy, timeout=0.25)
    run(ctrl, 2)  # commands 1.0, 2.0; last state at t = 0.1
    stale = [ctrl.step(t) for t in (0.4, 0.5, 1.0)]
    assert all(r.status == 'stale' for r in stale)
    assert all(r.command[0] == pytest.approx(2.0) for r in stale)
    assert len(policy.calls) == 1 and ctrl.stale_ticks == 3


def test_fresh_input_after_staleness_replans_from_the_held_target():
    policy = FakePolicy()
    ctrl = controller(policy, timeout=0.25)
    run(ctrl, 2)
    ctrl.step(1.0)  # stale, holding 2.0
    ctrl.set_full_state(np.ones(NX), 1.05)
    result = ctrl.step(1.1)
    assert result.status == 'ok' and result.queried
    np.testing.assert_array_equal(policy.calls[-1][2], [2.0])  # previous end = held target
    np.testing.assert_array_equal(policy.calls[-1][0], np.ones(NX))


def test_stale_before_any_command_publishes_nothing():
    ctrl = controller(timeout=0.25)
    ctrl.set_full_state(np.zeros(NX), 0.0)
    result = ctrl.step(1.0)
    assert result.status == 'stale' and result.command is None
    assert ctrl.state_age(1.0) == pytest.approx(1.0)


# -- bounds and NaN ---------------------------------------------------------------------------

def test_targets_are_clipped_to_the_action_bounds():
    ctrl = controller(FakePolicy(start_end=((10.0,), (30.0,))))
    commands = [r.command[0] for r in run(ctrl, 4)]
    assert max(commands) == 12.0 and commands[0] == pytest.approx(12.0)


@pytest.mark.parametrize('bad', [np.nan, np.inf, -np.inf])
def test_a_non_finite_action_is_never_published(bad):
    policy = FakePolicy()
    ctrl = controller(policy)
    good = run(ctrl, 4)[-1].command
    policy.start_end = np.array([[0.0], [bad]])
    results = run(ctrl, 3, start=0.4)
    assert all(r.status == 'held' for r in results)
    assert all(np.array_equal(r.command, good) for r in results)


def test_a_policy_that_refuses_the_state_makes_the_controller_hold():
    class Refusing(FakePolicy):

        def start_end_actions(self, state, goal, previous_end=None):
            raise ValueError('state: holds NaN or inf')

    result = run(controller(Refusing()), 1)[0]
    assert result.status == 'held' and result.command is None and 'NaN' in result.detail

    class Crashing(FakePolicy):

        def start_end_actions(self, state, goal, previous_end=None):
            raise RuntimeError('corrupt weights')

    policy = FakePolicy()
    ctrl = controller(policy)
    good = run(ctrl, 4)[-1].command
    ctrl.swap_policy(Crashing())
    result = run(ctrl, 1, start=0.4)[0]
    assert result.status == 'held' and np.array_equal(result.command, good)
    assert 'RuntimeError: corrupt weights' in result.detail


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=2,
                max_size=2))
def test_commands_are_always_finite_and_within_bounds(start_end):
    ctrl = controller(FakePolicy(start_end=np.array(start_end)[:, None]))
    for result in run(ctrl, 8):
        if result.command is not None:
            assert np.all(np.isfinite(result.command))
            assert np.all((result.command >= -12.0) & (result.command <= 12.0))


# -- inputs -----------------------------------------------------------------------------------

@pytest.mark.parametrize('bad, match', [
    (np.zeros(3), 'expected 4 values'),
    (np.zeros(5), 'expected 4 values'),
    (np.array([0.0, np.nan, 0.0, 0.0]), 'NaN or inf'),
    (np.array([0.0, np.inf, 0.0, 0.0]), 'NaN or inf'),
    (['a', 'b', 'c', 'd'], 'not a list of numbers'),
])
def test_bad_states_are_rejected_and_the_last_good_one_kept(bad, match):
    policy = FakePolicy()
    ctrl = controller(policy)
    ctrl.set_full_state(np.full(NX, 7.0), 0.0)
    with pytest.raises(InputError, match=match):
        ctrl.set_full_state(bad, 0.05)
    ctrl.step(0.1)
    np.testing.assert_array_equal(policy.calls[0][0], np.full(NX, 7.0))
    assert ctrl.rejected_inputs == 1
    assert ctrl.state_age(0.1) == pytest.approx(0.1)  # the rejected one did not refresh it


def test_bad_goals_are_rejected():
    ctrl = controller()
    with pytest.raises(InputError, match='goal'):
        ctrl.set_goal([1.0, 2.0])
    with pytest.raises(InputError, match='NaN'):
        ctrl.set_goal([np.nan] * NX)
    ctrl.set_goal(np.ones(NX))
    ctrl.set_full_state(np.zeros(NX), 0.0)
    ctrl.step(0.0)
    np.testing.assert_array_equal(ctrl.policy.calls[0][1], np.ones(NX))


@pytest.fixture(scope='module')
def box_push():
    return ParameterContainer('box_push')


def joint_controller(params, policy=None):
    return controller(policy, joint_map=JointMap.from_model(params.model),
                      base_state=np.asarray(params.start_state))


def test_joint_names_come_from_the_model(box_push):
    joint_map = JointMap.from_model(box_push.model)
    assert joint_map.names == ('object_x', 'cart_x')
    assert joint_map.qpos_slots.tolist() == [0, 1] and joint_map.qvel_slots.tolist() == [2, 3]
    assert joint_layout(box_push.model)['actuated_joint_names'] == ['cart_x']
    planar = JointMap.from_model(ParameterContainer('planar_hand').model)
    assert planar.names[3:] == ('left_shoulder', 'left_elbow', 'right_shoulder', 'right_elbow')
    assert planar.qvel_slots[-1] == 13


def test_joint_states_in_any_order_fill_position_and_velocity_slots(box_push):
    policy = FakePolicy()
    ctrl = joint_controller(box_push, policy)
    ctrl.set_joint_state(['cart_x', 'object_x'], [0.5, 9.5], [-1.0, 2.0], 0.0)
    ctrl.step(0.0)
    np.testing.assert_array_equal(policy.calls[0][0], [9.5, 0.5, 2.0, -1.0])
    assert ctrl.unobserved_slots() == []


def test_a_subset_is_merged_over_the_last_known_state(box_push):
    policy = FakePolicy()
    ctrl = joint_controller(box_push, policy)
    ctrl.set_full_state([9.0, 1.0, 0.1, 0.2], 0.0)
    ctrl.set_joint_state(['cart_x'], [1.5], [], 0.05)  # positions only
    ctrl.step(0.1)
    np.testing.assert_array_equal(policy.calls[0][0], [9.0, 1.5, 0.1, 0.2])


def test_before_a_full_state_joint_states_merge_over_the_base_state(box_push):
    ctrl = joint_controller(box_push)
    ctrl.set_joint_state(['cart_x'], [0.25], [0.0], 0.0)
    assert ctrl.unobserved_slots() == [0, 2]  # the object was never observed


@pytest.mark.parametrize('names, positions, velocities, match', [
    (['gripper'], [0.0], [], 'unknown joint name'),
    (['cart_x', 'elbow'], [0.0, 0.0], [], 'unknown joint name'),
    (['cart_x'], [0.0, 1.0], [], '1 names but 2 position'),
    (['cart_x'], [0.0], [1.0, 2.0], '1 names but 2 velocity'),
    (['cart_x'], [np.nan], [], 'NaN'),
    (['cart_x'], [], [np.inf], 'NaN'),
    (['cart_x', 'cart_x'], [0.0, 1.0], [], 'repeated'),
    ([], [], [], 'without joint names'),
    (['cart_x'], [], [], 'neither positions nor velocities'),
])
def test_bad_joint_states_are_rejected_whole(box_push, names, positions, velocities, match):
    ctrl = joint_controller(box_push)
    ctrl.set_full_state([9.0, 0.0, 0.0, 0.0], 0.0)
    with pytest.raises(InputError, match=match):
        ctrl.set_joint_state(names, positions, velocities, 0.1)
    assert ctrl.state_age(0.1) == pytest.approx(0.1)
    assert ctrl.rejected_inputs == 1


def test_ignored_joints_are_dropped_before_mapping(box_push):
    policy = FakePolicy()
    ctrl = controller(policy, joint_map=JointMap.from_model(box_push.model),
                      base_state=np.asarray(box_push.start_state),
                      ignored_joints=['gripper_left', 'gripper_right'])
    ctrl.set_full_state([9.0, 0.0, 0.0, 0.0], 0.0)
    ctrl.set_joint_state(['gripper_left', 'cart_x', 'gripper_right'], [0.1, 0.7, 0.2],
                         [0.0, 0.5, 0.0], 0.05)
    ctrl.step(0.1)
    np.testing.assert_array_equal(policy.calls[0][0], [9.0, 0.7, 0.0, 0.5])
    with pytest.raises(InputError, match='unknown joint name'):
        ctrl.set_joint_state(['cart_x', 'wrist'], [0.0, 0.0], [], 0.2)  # still strict


def test_joint_states_need_a_joint_map():
    with pytest.raises(InputError, match='joint map'):
        controller().set_joint_state(['cart_x'], [0.0], [], 0.0)


# -- reload -----------------------------------------------------------------------------------

def test_reload_failure_keeps_the_running_policy():
    first = FakePolicy(path='first')
    ctrl = controller(first)

    def broken():
        raise CheckpointError('/nowhere: no such checkpoint directory')

    ok, message = ctrl.reload(broken)
    assert not ok and 'no such checkpoint' in message and 'keeping first' in message
    assert ctrl.policy is first
    run(ctrl, 1)
    assert len(first.calls) == 1


@pytest.mark.parametrize('candidate, match', [
    (FakePolicy(nx=6), 'state_dimension'),
    (FakePolicy(nu=2), 'action_dimension'),
    (FakePolicy(upper=10.0), 'action bounds'),
    (FakePolicy(task='box_push'), 'task'),
])
def test_reload_refuses_an_incompatible_policy(candidate, match):
    first = FakePolicy()
    ctrl = controller(first)
    ok, message = ctrl.reload(lambda: candidate)
    assert not ok and match in message and ctrl.policy is first


def test_reload_swaps_in_at_the_next_query_without_stopping():
    first, second = FakePolicy(path='first'), FakePolicy(((0.0,), (-4.0,)), path='second')
    ctrl = controller(first)
    run(ctrl, 2)
    ok, message = ctrl.reload(lambda: second)
    assert ok and 'second' in message and ctrl.reloads == 1
    results = run(ctrl, 6, start=0.2)
    assert [r.status for r in results] == ['ok'] * 6  # never a gap
    assert len(first.calls) == 1 and len(second.calls) == 1  # the segment finished first
    assert results[-1].command[0] < 0


def test_reload_while_the_loop_runs_in_another_thread():
    policies = [FakePolicy(((0.0,), (float(k % 5),))) for k in range(20)]
    ctrl = controller(policies[0], rate=100.0)
    errors, commands = [], []

    def loop():
        try:
            for k in range(2000):
                ctrl.set_full_state(np.zeros(NX), k * 0.01)
                result = ctrl.step(k * 0.01)
                commands.append(result.command)
        except Exception as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    thread = threading.Thread(target=loop)
    thread.start()
    for policy in policies[1:]:
        assert ctrl.reload(lambda p=policy: p)[0]
    thread.join()
    assert not errors
    assert all(c is not None and np.all(np.isfinite(c)) for c in commands)


# -- with a real checkpoint -------------------------------------------------------------------

@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """Train the tiniest box_reach checkpoint (a couple of seconds)."""
    output = tmp_path_factory.mktemp('runs')
    params = ParameterContainer('box_reach', {'learner.cycles': 1, 'learner.batches': 1,
                                              'learner.evals': 2})
    learner = build_learner(params, None, output_dir=output, verbose=False)
    learner.train(1)
    return output, learner.last_checkpoint


def test_latest_resolves_to_the_newest_checkpoint_of_the_task(trained):
    output, path = trained
    assert resolve_checkpoint('latest', str(output), 'box_reach') == path
    assert resolve_checkpoint('/some/dir', str(output), 'box_reach') == '/some/dir'
    with pytest.raises(CheckpointError, match="no complete checkpoint of task 'box_push'"):
        resolve_checkpoint('latest', str(output), 'box_push')


def test_a_real_policy_drives_bounded_finite_commands(trained):
    output, path = trained
    policy = load_policy('latest', str(output), 'box_reach')
    assert policy.metadata['path'] == path
    params = policy.params
    ctrl = PolicyController(policy, 100.0, 0.5, goal=params.goal_state,
                            joint_map=JointMap.from_model(params.model),
                            base_state=params.start_state)
    assert ctrl.substeps == 40
    rng = np.random.default_rng(0)
    for k in range(120):
        ctrl.set_full_state(np.asarray(params.start_state) + rng.normal(0, 0.5, NX), k * 0.01)
        result = ctrl.step(k * 0.01)
        assert result.status == 'ok'
        assert np.all(np.isfinite(result.command))
        assert -12.0 <= result.command[0] <= 12.0
    assert ctrl.queries == 3


def test_a_checkpoint_of_another_task_fails_to_load(trained):
    output, path = trained
    with pytest.raises(CheckpointError, match='box_push'):
        load_policy(path, str(output), 'box_push')


def test_reload_from_disk_keeps_the_old_policy_on_a_missing_checkpoint(trained, tmp_path):
    output, path = trained
    policy = load_policy(path, str(output), 'box_reach')
    ctrl = PolicyController(policy, 100.0, 0.5, goal=GOAL)
    ok, message = ctrl.reload(lambda: load_policy(str(tmp_path / 'missing'), '', 'box_reach'))
    assert not ok and 'missing' in message and ctrl.policy is policy
    ok, _ = ctrl.reload(lambda: load_policy('latest', str(output), 'box_reach'))
    assert ok and ctrl.policy is not policy


@pytest.fixture(scope='module')
def two_epochs(tmp_path_factory, device):
    """Train box_reach two epochs on the device, the validation preferring the first."""
    output = tmp_path_factory.mktemp('runs')
    params = ParameterContainer('box_reach', {'learner.cycles': 1, 'learner.batches': 1,
                                              'learner.evals': 2, 'learner.validation_evals': 2})
    learner = build_learner(params, None, output_dir=output, verbose=False, device=device)
    validations = iter([(1.0, 0.01), (0.0, 1.0)])
    learner.validate = lambda: next(validations)
    learner.train(2)
    return output, learner


def test_latest_takes_the_best_checkpoint_of_the_newest_run_or_its_newest(two_epochs):
    output, learner = two_epochs
    best = str(learner.run_dir / 'checkpoints' / 'epoch_000001')
    assert resolve_checkpoint('latest', str(output), 'box_reach') == best
    assert resolve_checkpoint('latest', str(output), 'box_reach', newest=True) == \
        learner.last_checkpoint
    assert load_policy('latest', str(output), 'box_reach').metadata['path'] == best
    run = str(learner.run_dir)
    assert load_policy(run, '', 'box_reach', choice='newest').metadata['path'] == \
        learner.last_checkpoint


def test_the_policy_runs_on_the_device_parameter(two_epochs, device):
    output, _ = two_epochs
    policy = load_policy('latest', str(output), 'box_reach', device=device)
    assert policy.metadata['device'].startswith(device)
    assert next(policy.network.parameters()).device.type == device
    actions = policy.act(np.asarray(GOAL) - 1.0, np.asarray(GOAL))
    assert actions.shape == (1,) and np.all(np.abs(actions) <= 1.0)


def test_an_onnx_policy_refuses_a_torch_device(tmp_path):
    with pytest.raises(ParameterError, match="parameter 'device' 'cuda': an exported .onnx"):
        load_policy(str(tmp_path / 'policy.onnx'), '', 'box_reach', device='cuda')


def test_the_node_parameters_name_devices_and_choices():
    specs = {spec.name: spec for spec in POLICY_PARAMS}
    assert specs['device'].default == 'cpu' and specs['checkpoint_choice'].default == 'best'
    assert specs['device'].check('cuda:1') is None
    assert 'expected auto, cpu, cuda or cuda:N' in specs['device'].check('gpu')
    assert specs['checkpoint_choice'].choices == ('best', 'newest')
