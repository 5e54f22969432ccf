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
The rclpy shells of the four nodes, started in-process (skipped where rclpy is missing).

DDS stays on the loopback interface (the variables of ros_loopback.sh are set below, before
rclpy initializes). Each test gets its own rclpy context and a SingleThreadedExecutor; nodes
are created with parameter overrides instead of parameter files.
"""

import os
from pathlib import Path
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from tensordict import TensorDict
import torch

# Keep ROS traffic on this machine (Humble reads the first, Jazzy the second); set before
# rclpy initializes.
os.environ['ROS_LOCALHOST_ONLY'] = '1'
os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
os.environ.setdefault('ROS_DOMAIN_ID', '42')

# Module objects rather than imports: the whole file is skipped where ROS 2 is missing.
rclpy = pytest.importorskip('rclpy')
executors = pytest.importorskip('rclpy.executors')
lifecycle = pytest.importorskip('rclpy.lifecycle')
rclpy_parameter = pytest.importorskip('rclpy.parameter')
qos = pytest.importorskip('rclpy.qos')
diagnostic_msgs = pytest.importorskip('diagnostic_msgs.msg')
lifecycle_msgs = pytest.importorskip('lifecycle_msgs.msg')
lifecycle_srvs = pytest.importorskip('lifecycle_msgs.srv')
rcl_interfaces = pytest.importorskip('rcl_interfaces.srv')
std_msgs = pytest.importorskip('std_msgs.msg')
std_srvs = pytest.importorskip('std_srvs.srv')

from ddpg_manipulation.config import ParameterContainer  # noqa: E402
from ddpg_manipulation.learning.build import build_learner  # noqa: E402
from ddpg_manipulation.ros.messages import (  # noqa: E402
    demonstration_to_flat,
    fill_multiarray,
    flat_to_demonstration,
    read_multiarray,
)
from ddpg_manipulation.ros.params import ParameterError  # noqa: E402
from ddpg_manipulation.ros.planner_bridge_node import PlannerBridgeNode  # noqa: E402
from ddpg_manipulation.ros.policy_node import PolicyNode  # noqa: E402
from ddpg_manipulation.ros.sim_node import SimNode  # noqa: E402
from ddpg_manipulation.ros.training_node import TrainingNode  # noqa: E402

DiagnosticArray = diagnostic_msgs.DiagnosticArray
Float32MultiArray = std_msgs.Float32MultiArray
Float64MultiArray = std_msgs.Float64MultiArray
MultiArrayDimension = std_msgs.MultiArrayDimension
String = std_msgs.String
Trigger = std_srvs.Trigger
Parameter = rclpy_parameter.Parameter
SingleThreadedExecutor = executors.SingleThreadedExecutor
TransitionCallbackReturn = lifecycle.TransitionCallbackReturn
DurabilityPolicy, QoSProfile, ReliabilityPolicy = (
    qos.DurabilityPolicy, qos.QoSProfile, qos.ReliabilityPolicy)

pytestmark = pytest.mark.ros

REPO = Path(__file__).resolve().parents[1]

LATCHED = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)
TINY = ['learner.cycles=1', 'learner.batches=1', 'learner.evals=2']


@pytest.fixture
def context():
    ctx = rclpy.context.Context()
    rclpy.init(context=ctx)
    yield ctx
    if ctx.ok():
        rclpy.shutdown(context=ctx)


@pytest.fixture
def executor(context):
    ex = SingleThreadedExecutor(context=context)
    yield ex
    ex.shutdown()


@pytest.fixture
def probe(context, executor):
    node = rclpy.create_node('test_probe', context=context)
    executor.add_node(node)
    yield node
    node.destroy_node()


def spin_until(executor, condition, timeout=30.0, action=None):
    """Spin until condition() holds, calling action() each round (e.g. to publish)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if action is not None:
            action()
        executor.spin_once(timeout_sec=0.05)
        if condition():
            return True
    return False


def params(**values):
    return [Parameter(name, value=value) for name, value in values.items()]


def demonstration(rows=5, nx=4, nu=1):
    sizes = {'states': nx, 'relative_actions': nu, 'next_states': nx, 'start_states': nx,
             'goal_states': nx}
    return TensorDict({k: torch.rand(rows, n) for k, n in sizes.items()}, batch_size=[rows])


class FakeGraph:

    def sample_demonstration(self):
        return demonstration()


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """Train the tiniest box_reach policy (takes a couple of seconds)."""
    output = tmp_path_factory.mktemp('runs')
    learner = build_learner(
        ParameterContainer('box_reach', {'learner.cycles': 1, 'learner.batches': 1,
                                         'learner.evals': 2}), None, output_dir=output)
    learner.train(1)
    return output, learner.last_checkpoint


# -- sim_node ---------------------------------------------------------------------------------

def test_sim_node_publishes_state_and_survives_malformed_commands(context, executor, probe):
    node = SimNode(context=context, parameter_overrides=params(task='box_reach',
                                                               publish_rate=50.0))
    executor.add_node(node)
    states = []
    probe.create_subscription(Float64MultiArray, '/sim_node/state',
                              lambda m: states.append(list(m.data)), 10)
    commands = probe.create_publisher(Float64MultiArray, '/sim_node/command', 10)
    assert spin_until(executor, lambda: len(states) >= 3)
    assert len(states[-1]) == 4

    def publish_bad():
        commands.publish(Float64MultiArray(data=[float('nan')]))
        commands.publish(Float64MultiArray(data=[1.0, 2.0]))

    assert spin_until(executor, lambda: node.sim.rejected_commands >= 2, action=publish_bad)
    seen = len(states)
    assert spin_until(executor, lambda: len(states) > seen + 3)  # still running
    assert spin_until(executor, lambda: node.sim.commands >= 1,
                      action=lambda: commands.publish(Float64MultiArray(data=[1.0])))
    assert node.exit_code is None
    executor.remove_node(node)
    node.destroy_node()


def test_sim_node_rejects_a_bad_parameter_at_start(context):
    with pytest.raises(ParameterError, match="parameter 'publish_rate'"):
        SimNode(context=context, parameter_overrides=params(publish_rate=-1.0))
    with pytest.raises(ParameterError, match="parameter 'task'"):
        SimNode(context=context, parameter_overrides=params(task='no_such_task'))


def test_sim_node_exits_on_success(context, executor):
    start = [9.0, 1.0, 0.0, 0.0]
    node = SimNode(context=context, parameter_overrides=params(
        task='box_reach', start_state=start, goal=start, exit_on_success=True))
    executor.add_node(node)
    assert spin_until(executor, lambda: node.exit_code is not None, timeout=10)
    assert node.close() == 0
    executor.remove_node(node)
    node.destroy_node()


# -- planner_bridge_node ----------------------------------------------------------------------

def test_bridge_serves_demonstrations_to_a_late_subscriber(context, executor, probe):
    node = PlannerBridgeNode(graph_factory=lambda p: FakeGraph(), context=context,
                             parameter_overrides=params(task='box_reach', rate=20.0, count=3))
    executor.add_node(node)
    assert spin_until(executor, lambda: node.published == 3)
    received = []  # subscribes only now: transient local delivers the stored ones
    probe.create_subscription(Float32MultiArray, '/planner_bridge_node/demonstrations',
                              received.append, LATCHED)
    assert spin_until(executor, lambda: len(received) == 3)
    demo = flat_to_demonstration(read_multiarray(received[0]), 4, 1)
    assert demo['states'].shape == (5, 4)
    executor.remove_node(node)
    node.destroy_node()


# -- training_node ----------------------------------------------------------------------------

def test_training_node_drops_malformed_demonstrations_and_trains(context, executor, probe,
                                                                 tmp_path):
    node = TrainingNode(autostart=False, context=context, parameter_overrides=params(
        task='box_reach', epochs=1, output_dir=str(tmp_path), overrides=TINY))
    executor.add_node(node)
    publisher = probe.create_publisher(Float32MultiArray, '/training_node/demonstrations',
                                       LATCHED)
    good = fill_multiarray(Float32MultiArray(), demonstration_to_flat(demonstration()),
                           MultiArrayDimension)
    bad = fill_multiarray(Float32MultiArray(), demonstration_to_flat(demonstration(nx=5)),
                          MultiArrayDimension)
    publisher.publish(bad)
    publisher.publish(good)
    queue = node.run.queue
    assert spin_until(executor, lambda: queue.stats()['received'] >= 1
                      and queue.stats()['rejected'] >= 1)
    diagnostics, announced = [], []
    probe.create_subscription(DiagnosticArray, '/diagnostics', diagnostics.append, 10)
    probe.create_subscription(String, '/training_node/checkpoint',
                              lambda m: announced.append(m.data), LATCHED)
    node.run.start()
    assert spin_until(executor, lambda: node.exit_code is not None and announced, timeout=120)
    assert node.close() == 0
    assert os.path.isdir(announced[-1])
    keys = {kv.key for array in diagnostics for status in array.status for kv in status.values}
    assert {'epoch', 'success_rate', 'relative_distance', 'demo_share', 'epoch_time'} <= keys
    executor.remove_node(node)
    node.destroy_node()


def test_training_node_saves_a_final_checkpoint_when_stopped(context, executor, tmp_path):
    node = TrainingNode(context=context, parameter_overrides=params(
        task='box_reach', epochs=100000, output_dir=str(tmp_path), overrides=TINY,
        use_demonstrations=False))
    executor.add_node(node)
    assert spin_until(executor, lambda: node.announced is not None, timeout=120)
    assert node.close() == 0  # what Ctrl-C / SIGTERM lead to
    assert node.run.done and os.path.isdir(node.announced)
    assert node.announced.endswith(f'epoch_{node.run.learner.epoch:06d}')
    executor.remove_node(node)
    node.destroy_node()


# -- policy_node ------------------------------------------------------------------------------

def test_policy_node_lifecycle_commands_and_reload(context, executor, probe, checkpoint):
    output, path = checkpoint
    node = PolicyNode(context=context, parameter_overrides=params(
        task='box_reach', checkpoint=path, output_dir=str(output), control_rate=50.0))
    executor.add_node(node)
    assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
    assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
    commands = []
    probe.create_subscription(Float64MultiArray, '/policy_node/command',
                              lambda m: commands.append(list(m.data)), 10)
    states = probe.create_publisher(Float64MultiArray, '/policy_node/state', 10)

    def publish_state():
        states.publish(Float64MultiArray(data=[9.0, 0.0, 0.0, 0.0]))

    assert spin_until(executor, lambda: len(commands) >= 5, action=publish_state)
    assert all(len(c) == 1 and np.isfinite(c[0]) and -12.0 <= c[0] <= 12.0 for c in commands)

    def publish_malformed():
        states.publish(Float64MultiArray(data=[1.0, 2.0]))
        states.publish(Float64MultiArray(data=[float('nan')] * 4))
        publish_state()

    seen = len(commands)
    assert spin_until(executor, lambda: node.controller.rejected_inputs >= 2
                      and len(commands) > seen + 5, action=publish_malformed)

    client = probe.create_client(Trigger, '/policy_node/reload')
    assert client.wait_for_service(timeout_sec=10)

    def call_reload():
        future = client.call_async(Trigger.Request())
        assert spin_until(executor, future.done, action=publish_state)
        return future.result()

    assert call_reload().success
    # Bad run-time values are refused by the set-parameters callback (dynamic typing lets rclpy
    # itself accept any type), so ~/reload never meets them.
    for bad in ('', 5):
        result = node.set_parameters(params(checkpoint=bad))[0]
        assert not result.successful and "parameter 'checkpoint'" in result.reason
    assert call_reload().success
    node.set_parameters(params(checkpoint=str(output / 'missing')))
    response = call_reload()
    assert not response.success and 'missing' in response.message
    seen = len(commands)
    assert spin_until(executor, lambda: len(commands) > seen + 5, action=publish_state)

    assert node.trigger_deactivate() == TransitionCallbackReturn.SUCCESS
    spin_until(executor, lambda: False, timeout=0.3)
    seen = len(commands)
    spin_until(executor, lambda: False, timeout=0.5, action=publish_state)
    assert len(commands) == seen  # inactive: no commands
    assert node.trigger_cleanup() == TransitionCallbackReturn.SUCCESS
    assert node.controller is None
    executor.remove_node(node)
    node.destroy_node()


def test_policy_node_configure_fails_on_a_bad_checkpoint(context, executor, tmp_path):
    node = PolicyNode(context=context, parameter_overrides=params(
        task='box_reach', checkpoint=str(tmp_path / 'nothing')))
    executor.add_node(node)
    assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
    assert node.controller is None
    executor.remove_node(node)
    node.destroy_node()


def test_policy_node_configure_fails_on_another_tasks_checkpoint(context, checkpoint):
    output, path = checkpoint
    node = PolicyNode(context=context, parameter_overrides=params(
        task='box_push', checkpoint=path))
    assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
    node.destroy_node()


def test_policy_node_is_configured_again_after_fixing_a_parameter(context, checkpoint):
    # What the launch's message says to do: `ros2 param set`, then configure once more.
    output, path = checkpoint
    node = PolicyNode(context=context, parameter_overrides=params(
        task='box_reach', checkpoint=path, control_rate=33.0))  # 33 Hz x 0.4 s: not whole
    assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
    assert node.set_parameters(params(control_rate=50.0))[0].successful
    assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
    assert node.controller.control_rate == 50.0
    node.trigger_cleanup()
    node.destroy_node()


def test_policy_node_auto_reloads_a_checkpoint_announced_before_it_configured(
        context, executor, probe, checkpoint):
    # training_node latches its newest checkpoint; the policy node subscribes after configure.
    output, path = checkpoint
    announcer = probe.create_publisher(String, '/policy_node/checkpoint_updates', LATCHED)
    announcer.publish(String(data=path))
    node = PolicyNode(context=context, parameter_overrides=params(
        task='box_reach', checkpoint=path, auto_reload=True))
    executor.add_node(node)
    assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
    assert spin_until(executor, lambda: node.controller.reloads == 1)
    node.trigger_cleanup()
    executor.remove_node(node)
    node.destroy_node()


def test_policy_node_rejects_a_bad_parameter_at_start(context):
    with pytest.raises(ParameterError, match="parameter 'state_input'"):
        PolicyNode(context=context, parameter_overrides=params(state_input='everything'))


def test_training_node_logs_every_level_its_run_reports(context, tmp_path):
    # rclpy refuses a logging call site whose severity changes between calls.
    node = TrainingNode(autostart=False, context=context, parameter_overrides=params(
        task='box_reach', epochs=1, output_dir=str(tmp_path), overrides=TINY))
    for _ in range(2):
        for level in ('info', 'warning', 'error', 'info'):
            node._log(level, f'{level} from the training run')
    node.destroy_node()


# -- the executables: Ctrl-C, SIGINT and SIGTERM in every state end a node with exit code 0 ----

def start_executable(executable, node_name, *ros_args):
    """Start a node executable as its console script does, under its own name."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(REPO), os.environ.get('PYTHONPATH')) if p))
    code = (f'import sys\nfrom ddpg_manipulation.ros.executables import {executable}\n'
            f'sys.exit({executable}())\n')
    return subprocess.Popen(
        [sys.executable, '-c', code, '--ros-args', '-r', f'__node:={node_name}', *ros_args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def stop_executable(process, *signums):
    """Send the signals back to back (a launch may signal twice) and return code and output."""
    for signum in signums:
        process.send_signal(signum)
    try:
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    return process.returncode, output


def wait_for(probe, executor, service_type, name):
    client = probe.create_client(service_type, name)
    assert client.wait_for_service(timeout_sec=60), f'{name} never appeared'
    return client


def call(executor, client, request):
    future = client.call_async(request)
    assert spin_until(executor, future.done, timeout=60)
    return future.result()


def change_state(executor, client, transition):
    request = lifecycle_srvs.ChangeState.Request()
    request.transition.id = transition
    return call(executor, client, request).success


Transition = lifecycle_msgs.Transition


@pytest.mark.parametrize('signums', [(signal.SIGINT,), (signal.SIGTERM,),
                                     (signal.SIGINT, signal.SIGINT)])
def test_policy_node_exits_0_when_stopped_unconfigured(probe, executor, tmp_path, signums):
    name = f'policy_unconfigured_{os.getpid()}_{len(signums)}_{int(signums[0])}'
    process = start_executable('policy_node', name, '-p', 'task:=box_reach')
    wait_for(probe, executor, lifecycle_srvs.ChangeState, f'/{name}/change_state')
    code, output = stop_executable(process, *signums)
    assert code == 0, output


@pytest.mark.parametrize('signums', [(signal.SIGINT,), (signal.SIGINT, signal.SIGINT),
                                     (signal.SIGTERM,)])
def test_policy_node_exits_0_when_stopped_after_a_failed_configure(
        probe, executor, tmp_path, signums):
    # What `policy.launch.py checkpoint:=<missing>` does, then Ctrl-C (SIGINT from the terminal
    # and, with --noninteractive, from launch too).
    name = f'policy_failed_{os.getpid()}_{len(signums)}_{int(signums[0])}'
    process = start_executable('policy_node', name, '-p', 'task:=box_reach',
                               '-p', f'checkpoint:={tmp_path / "missing"}')
    client = wait_for(probe, executor, lifecycle_srvs.ChangeState, f'/{name}/change_state')
    assert not change_state(executor, client, Transition.TRANSITION_CONFIGURE)
    code, output = stop_executable(process, *signums)
    assert code == 0, output
    assert 'configure failed' in output


@pytest.mark.parametrize('signum', [signal.SIGINT, signal.SIGTERM])
def test_policy_node_exits_0_when_stopped_active(probe, executor, checkpoint, signum):
    output_dir, path = checkpoint
    name = f'policy_active_{os.getpid()}_{int(signum)}'
    process = start_executable('policy_node', name, '-p', 'task:=box_reach',
                               '-p', f'checkpoint:={path}', '-p', f'output_dir:={output_dir}')
    client = wait_for(probe, executor, lifecycle_srvs.ChangeState, f'/{name}/change_state')
    assert change_state(executor, client, Transition.TRANSITION_CONFIGURE)
    assert change_state(executor, client, Transition.TRANSITION_ACTIVATE)
    code, output = stop_executable(process, signum)
    assert code == 0, output


@pytest.mark.parametrize('executable', ['sim_node', 'planner_bridge_node'])
def test_plain_nodes_exit_0_on_sigint(probe, executor, executable):
    name = f'{executable}_{os.getpid()}'
    process = start_executable(executable, name, '-p', 'task:=box_reach')
    wait_for(probe, executor, rcl_interfaces.ListParameters, f'/{name}/list_parameters')
    code, output = stop_executable(process, signal.SIGINT)
    assert code == 0, output


def installed_package():
    """Whether `ros2 launch ddpg_manipulation ...` can find this package (a sourced install)."""
    try:
        from ament_index_python.packages import get_package_share_directory
        get_package_share_directory('ddpg_manipulation')
    except (ImportError, LookupError):
        return False
    return shutil.which('ros2') is not None


@pytest.mark.skipif(not installed_package(), reason='needs the installed package and ros2 on '
                    'PATH (source install/setup.bash)')
def test_policy_launch_ctrl_c_after_a_failed_configure_exits_cleanly(tmp_path):
    # Ctrl-C in a terminal signals the whole foreground process group: launch and its nodes.
    launch = subprocess.Popen(
        ['ros2', 'launch', 'ddpg_manipulation', 'policy.launch.py', 'task:=box_reach',
         f'checkpoint:={tmp_path / "missing"}'],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines = []
    try:
        for line in launch.stdout:
            lines.append(line)
            if 'failed to configure' in line:
                break
        assert any('failed to configure' in line for line in lines), ''.join(lines)
        os.killpg(launch.pid, signal.SIGINT)
        rest, _ = launch.communicate(timeout=60)
    finally:
        if launch.poll() is None:
            os.killpg(launch.pid, signal.SIGKILL)
    output = ''.join(lines) + rest
    assert launch.returncode == 0, output
    assert 'process has died' not in output, output
    assert 'process has finished cleanly' in output, output
