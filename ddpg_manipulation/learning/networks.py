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
The ``actor`` module contains the actor class as well as the actor networks.

The :class:`.Actor` acts as a wrapper around the actual deterministic policy network to provide
action selection, and loading utilities.

:class:`.DDP` is a vanilla deep deterministic policy network implementation.
"""

from __future__ import annotations

import contextlib
import copy
import io
from typing import Any, Iterator, TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    from ddpg_manipulation.config import ParameterContainer
    from ddpg_manipulation.learning.normalizer import Normalizer


def soft_update(network: torch.nn.Module, target: torch.nn.Module, tau: float) -> torch.nn.Module:
    """
    Perform a soft update of the target network's weights.

    Shifts the weights of the ``target`` by a factor of ``tau`` into the direction of the
    ``network``.

    :param network: Network from which to copy the weights.
    :param target: Network that gets updated.
    :param tau: Controls how much the weights are shifted. Valid in [0, 1].

    :returns: The updated target network.
    """
    if not 0.0 <= tau <= 1.0:
        raise ValueError(f'tau must lie in [0, 1], got {tau}')
    with torch.no_grad():
        source = list(network.parameters())
        destination = list(target.parameters())
        # One fused multi-tensor op instead of a Python loop of small kernels.
        torch._foreach_lerp_(destination, source, tau)
    return target


def mlp(size_in: int, size_out: int, nlayers: int, layer_width: int,
        layer_norm: bool = False) -> list[nn.Module]:
    """
    Build the layers of a multilayer perceptron: linear layers with ReLU between them.

    :param size_in: Input size.
    :param size_out: Output size.
    :param nlayers: Number of linear layers.
    :param layer_width: Width of the hidden layers.
    :param layer_norm: Normalize each hidden layer's output (LayerNorm, no affine parameters)
        before its ReLU.

    :returns: The layers, to wrap in ``nn.Sequential`` (with an output activation if needed).
    """
    if nlayers < 1:
        raise ValueError(f'nlayers must be >= 1, got {nlayers}')
    layers: list[nn.Module] = []
    width_in = size_in
    for _ in range(nlayers - 1):
        layers.append(nn.Linear(width_in, layer_width))
        if layer_norm:
            # Without a learned scale and shift (the next layer's weights can do both): their
            # gradients are sums over the batch, which torch splits by thread, and a result that
            # depends on the thread count would make seeded runs depend on the machine's load.
            layers.append(nn.LayerNorm(layer_width, elementwise_affine=False))
        layers.append(nn.ReLU())
        width_in = layer_width
    layers.append(nn.Linear(width_in, size_out))
    return layers


class DDP(nn.Module):
    """
    Continuous action choice network for the agent.

    :param size_s: Observation size (state and goal).
    :param size_a: Action size.
    :param nlayers: Number of linear layers.
    :param layer_width: Width of the hidden layers.
    """

    def __init__(self, size_s: int, size_a: int, nlayers: int, layer_width: int) -> None:
        super().__init__()
        self.net = nn.Sequential(*mlp(size_s, size_a, nlayers, layer_width), nn.Tanh())

    def forward(self, x: torch.FloatTensor) -> torch.FloatTensor:
        """
        Compute the network forward pass.

        :param x: Input tensor.

        :returns: The network output.
        """
        return self.net(x)

    def preactivation(self, x: torch.FloatTensor) -> torch.FloatTensor:
        """
        Compute the output before the final tanh (``tanh`` of it is :meth:`forward`).

        :param x: Input tensor.

        :returns: The pre-activation, unbounded.
        """
        return self.net[:-1](x)


class CriticNetwork(nn.Module):
    """
    State action critic network for the critic.

    :param size_s: Observation size (state and goal).
    :param size_a: Action size.
    :param nlayers: Number of linear layers.
    :param layer_width: Width of the hidden layers.
    """

    def __init__(self, size_s: int, size_a: int, nlayers: int, layer_width: int) -> None:
        super().__init__()
        self.net = nn.Sequential(*mlp(size_s + size_a, 1, nlayers, layer_width))

    @classmethod
    def layer_normed(cls, size_s: int, size_a: int, nlayers: int,
                     layer_width: int) -> CriticNetwork:
        """
        Build the critic network with LayerNorm after each hidden layer.

        Normalized hidden features keep the value estimate from drifting with the scale of its
        own inputs, which steadies the bootstrapped target.

        :param size_s: Observation size (state and goal).
        :param size_a: Action size.
        :param nlayers: Number of linear layers.
        :param layer_width: Width of the hidden layers.

        :returns: The network.
        """
        network = cls(size_s, size_a, nlayers, layer_width)
        network.net = nn.Sequential(*mlp(size_s + size_a, 1, nlayers, layer_width, True))
        return network

    def forward(self, state: torch.FloatTensor, action: torch.FloatTensor) -> torch.FloatTensor:
        """
        Compute the network forward pass.

        :param state: Input state tensor.
        :param action: Input action tensor.

        :returns: The network output.
        """
        return self.net(torch.cat([state, action], dim=-1))


def _adam(parameters: Any, lr: float) -> torch.optim.Adam:
    # The fused kernel does the whole step in one op; it exists for CPU and CUDA tensors.
    return torch.optim.Adam(parameters, lr=lr, fused=True)


class Actor:
    """
    Actor class encapsulating the action selection and training process for the DDPG actor.

    :param size_s: Observation size (state and goal).
    :param size_a: Action size.
    :param nlayers: Number of linear layers.
    :param layer_width: Width of the hidden layers.
    :param lr: Adam learning rate.
    :param eps: Probability of a uniformly random action in train mode.
    :param action_clip: Actions are clipped to [-action_clip, action_clip].
    """

    def __init__(
        self, size_s: int, size_a: int, nlayers: int = 4, layer_width: int = 256,
        lr: float = 0.001, eps: float = 0.3, action_clip: float = 1.0,
    ) -> None:
        self.size_s, self.size_a = size_s, size_a
        # Built on the CPU, so a seed gives the same initial weights on every device; the learner
        # moves the actor to its device with :meth:`to`.
        self.action_net = DDP(size_s, size_a, nlayers, layer_width)
        self.target_net = copy.deepcopy(self.action_net)
        self.target_net.requires_grad_(False)
        self.optim = _adam(self.action_net.parameters(), lr)
        self.eps = eps
        self.action_clip = action_clip
        self.noise_std = 0.2  # Gaussian exploration noise; the learner sets it from its params
        self.generator: torch.Generator | None = None  # exploration RNG; global torch if None
        self.training = True
        # An exponentially averaged copy of the action net (see keep_average), or None.
        self.average_net: DDP | None = None

    @property
    def device(self) -> torch.device:
        """Return the device the actor's networks are on."""
        return next(self.action_net.parameters()).device

    @property
    def acting_net(self) -> DDP:
        """Return the network that acts in evaluation mode: the average if kept, else the net."""
        return self.average_net if self.average_net is not None else self.action_net

    def to(self, device: torch.device | str) -> Actor:
        """
        Move the networks and the optimizer state to a device.

        :param device: The torch device.

        :returns: This actor.
        """
        _move(device, self.action_net, self.target_net, self.optim)
        if self.average_net is not None:
            self.average_net.to(device)
        return self

    def keep_average(self) -> None:
        """
        Keep an exponentially averaged copy of the action net, which acts in evaluation mode.

        Training moves the action net by every gradient step; its average over many steps
        changes slowly, and with it the policy that is evaluated, saved and deployed.
        """
        self.average_net = copy.deepcopy(self.action_net).requires_grad_(False)

    def update_average(self, tau: float) -> None:
        """
        Move the averaged copy a fraction ``tau`` towards the action net.

        :param tau: Averaging fraction, in [0, 1].
        """
        if self.average_net is None:
            raise RuntimeError('update_average: the actor keeps no average (keep_average)')
        soft_update(self.action_net, self.average_net, tau)

    def select_action(self, state_norm: Normalizer, obs: torch.FloatTensor) -> torch.FloatTensor:
        """
        Select an action for the given input observation (state, goal).

        If in train mode, samples noise and chooses completely random actions with probability
        ``self.eps``. If in evaluation mode, only clips the action to the maximum value (and
        acts with the averaged network where the actor keeps one, see :meth:`keep_average`).

        :param state_norm: State normalizer.
        :param obs: Input observation, shape (batch, size_s).

        :returns: Normalized actions, shape (batch, size_a).
        """
        with torch.inference_mode():
            net = self.action_net if self.training else self.acting_net
            actions = net(state_norm.normalize_obs(obs.to(self.device)))
            if self.training:
                # Drawn on the CPU whatever the device: the generator is a CPU generator, and a
                # seed explores the same way on every device.
                gen, shape, device = self.generator, actions.shape, actions.device
                noise = torch.randn(shape, generator=gen).to(device)
                actions = actions + self.noise_std * noise
                random_actions = (2 * torch.rand(shape, generator=gen) - 1).to(device)
                use_random = (torch.rand((shape[0], 1), generator=gen) < self.eps).to(device)
                actions = torch.where(use_random, random_actions, actions)
            return actions.clamp(-self.action_clip, self.action_clip)

    def __call__(self, states: torch.FloatTensor) -> torch.FloatTensor:
        """
        Run a forward pass directly on the action net.

        :param states: Input states.

        :returns: An action tensor.
        """
        return self.action_net(states)

    def backward_step(self, loss: torch.FloatTensor) -> None:
        """
        Perform a backward pass with an optimizer step.

        :param loss: Actor network loss.
        """
        self.optim.zero_grad(set_to_none=True)
        loss.backward()
        self.optim.step()

    def target(self, states: torch.FloatTensor) -> torch.FloatTensor:
        """
        Compute actions with the target network and without noise.

        :param states: Input states.

        :returns: An action tensor.
        """
        with torch.no_grad():
            return self.target_net(states)

    def evaluation_mode(self) -> None:
        """Set the actor to eval mode without noise in the action selection."""
        self.training = False
        self.action_net.train(False)

    # The seed's name for evaluation_mode (a mode switch, as torch's Module has; nothing runs).
    eval = evaluation_mode  # noqa: A003

    def train(self) -> None:
        """Set the actor to train mode with noisy actions."""
        self.training = True
        self.action_net.train()

    @contextlib.contextmanager
    def evaluating(self) -> Iterator[Actor]:
        """Act in evaluation mode inside a ``with`` block, then return to the mode before."""
        was_training = self.training
        self.evaluation_mode()
        try:
            yield self
        finally:
            if was_training:
                self.train()

    def update_target(self, tau: float = 0.05) -> None:
        """
        Update the target network with a soft parameter transfer update.

        :param tau: Averaging fraction of the parameter update for the action network.
        """
        soft_update(self.action_net, self.target_net, tau)

    def load(self, checkpoint: Any) -> None:
        """
        Load data for the actor.

        :param checkpoint: dict containing loaded data.
        """
        _load_into(checkpoint, 'actor', self.action_net, self.target_net, self.optim)
        if self.average_net is not None:
            # A checkpoint from a run without an average starts it at the loaded net.
            average = checkpoint.get('average', checkpoint['net'])
            try:
                self.average_net.load_state_dict(average)
            except (RuntimeError, KeyError) as error:
                raise ValueError(f'actor checkpoint: average does not fit: {error}') from error

    def save(self, f: io.BufferedWriter) -> None:
        """
        Save data for the actor (with ``average``, the averaged net, where one is kept).

        :param f: Binary file (or path) to write to.
        """
        torch.save(self.state_dict(), f)

    def state_dict(self) -> dict[str, Any]:
        """
        Return what :meth:`save` writes: the nets, the optimizer state, the average if kept.

        :returns: A dict of CPU tensors (``weights_only``-loadable).
        """
        state = _state(self.action_net, self.target_net, self.optim)
        if self.average_net is not None:
            state['average'] = _on_cpu(self.average_net.state_dict())
        return state


class Critic:
    """
    Critic class encapsulating the critic and training process for the DDPG critic.

    :param size_s: Observation size (state and goal).
    :param size_a: Action size.
    :param nlayers: Number of linear layers.
    :param layer_width: Width of the hidden layers.
    :param lr: Adam learning rate.
    """

    def __init__(
        self, size_s: int, size_a: int, nlayers: int = 4, layer_width: int = 256,
        lr: float = 0.001,
    ) -> None:
        self.size_s, self.size_a = size_s, size_a
        self.critic_net = CriticNetwork(size_s, size_a, nlayers, layer_width)  # CPU, as Actor
        self.target_net = copy.deepcopy(self.critic_net)
        self.target_net.requires_grad_(False)
        self.optim = _adam(self.critic_net.parameters(), lr)

    @property
    def device(self) -> torch.device:
        """Return the device the critic's networks are on."""
        return next(self.critic_net.parameters()).device

    def set_network(self, network: CriticNetwork) -> None:
        """
        Train another critic network (e.g. :meth:`CriticNetwork.layer_normed`) in its place.

        Target and optimizer start afresh for it, with the same learning rate.

        :param network: The new network, before any training.
        """
        lr = self.optim.param_groups[0]['lr']
        self.critic_net = network.to(self.device)
        self.target_net = copy.deepcopy(network).requires_grad_(False)
        self.optim = _adam(self.critic_net.parameters(), lr)

    def to(self, device: torch.device | str) -> Critic:
        """
        Move the networks and the optimizer state to a device.

        :param device: The torch device.

        :returns: This critic.
        """
        _move(device, self.critic_net, self.target_net, self.optim)
        return self

    def __call__(self, states: torch.FloatTensor, actions: torch.FloatTensor) -> torch.FloatTensor:
        """
        Run a critic net forward pass.

        :param states: Input states.
        :param actions: Input actions.

        :returns: An action value tensor.
        """
        return self.critic_net(states, actions)

    def target(self, states: torch.FloatTensor, actions: torch.FloatTensor) -> torch.FloatTensor:
        """
        Compute the action value with the target network.

        :param states: Input states.
        :param actions: Input actions.

        :returns: An action value tensor.
        """
        with torch.no_grad():
            return self.target_net(states, actions)

    def backward_step(self, loss: torch.FloatTensor) -> None:
        """
        Perform a backward pass with an optimizer step.

        :param loss: Critic network loss.
        """
        self.optim.zero_grad(set_to_none=True)
        loss.backward()
        self.optim.step()

    def update_target(self, tau: float = 0.05) -> None:
        """
        Update the target network with a soft parameter transfer update.

        :param tau: Averaging fraction of the parameter update for the action network.
        """
        soft_update(self.critic_net, self.target_net, tau)

    def load(self, checkpoint: Any) -> None:
        """
        Load data for the critic.

        :param checkpoint: dict containing loaded data.
        """
        _load_into(checkpoint, 'critic', self.critic_net, self.target_net, self.optim)

    def save(self, f: io.BufferedWriter) -> None:
        """
        Save data for the critic.

        :param f: Binary file (or path) to write to.
        """
        torch.save(self.state_dict(), f)

    def state_dict(self) -> dict[str, Any]:
        """
        Return what :meth:`save` writes: the net, its target and the optimizer state.

        :returns: A dict of CPU tensors (``weights_only``-loadable).
        """
        return _state(self.critic_net, self.target_net, self.optim)


def actor_critic(size_s: int, size_a: int, params: ParameterContainer) -> tuple[Actor, Critic]:
    """
    Build the actor and the critic that a task's ``learner.*`` parameters describe, on the CPU.

    Both draw their initial weights from torch's global generator, actor first; the actor's
    exploration draws from its own generator, seeded with ``seed + 1``.

    :param size_s: Observation size (state and goal).
    :param size_a: Action size.
    :param params: Task parameters (network shape, learning rates, exploration, the
        layer-normed critic and the averaged actor).

    :returns: The actor and the critic.
    """
    p = params
    actor = Actor(size_s, size_a, p.learner_nlayers, p.learner_layer_width, p.learner_actor_lr,
                  p.learner_random_eps, p.learner_action_clip)
    actor.noise_std = p.learner_noise_std
    actor.generator = torch.Generator().manual_seed(p.seed + 1)
    critic = Critic(size_s, size_a, p.learner_nlayers, p.learner_layer_width, p.learner_critic_lr)
    if p.learner_critic_layer_norm:
        critic.set_network(CriticNetwork.layer_normed(
            size_s, size_a, p.learner_nlayers, p.learner_layer_width))
    if p.learner_average_tau > 0:
        actor.keep_average()
    return actor, critic


def _move(device: torch.device | str, net: nn.Module, target: nn.Module,
          optim: torch.optim.Optimizer) -> None:
    net.to(device)  # in place: the optimizer keeps referring to the same parameters
    target.to(device)
    for state in optim.state.values():
        for key, value in state.items():
            if isinstance(value, torch.Tensor):
                state[key] = value.to(device)


def _state(net: nn.Module, target: nn.Module, optim: torch.optim.Optimizer) -> dict[str, Any]:
    # On the CPU whatever the training device: a checkpoint trained on a GPU loads on a robot
    # computer without one (and loading moves every tensor to the loader's device).
    state = {'net': net.state_dict(), 'target': target.state_dict(), 'optim': optim.state_dict()}
    return _on_cpu(state)


def _on_cpu(tree: Any) -> Any:
    if isinstance(tree, torch.Tensor):
        return tree.cpu()
    if isinstance(tree, dict):  # OrderedDict too, with the module versions torch keeps on it
        moved: Any = type(tree)((key, _on_cpu(value)) for key, value in tree.items())
        if hasattr(tree, '_metadata'):
            moved._metadata = tree._metadata
        return moved
    if isinstance(tree, list):
        return [_on_cpu(value) for value in tree]
    return tree


def _load_into(
    checkpoint: Any, what: str, net: nn.Module, target: nn.Module, optim: torch.optim.Optimizer
) -> None:
    if not isinstance(checkpoint, dict) or 'net' not in checkpoint:
        raise ValueError(f'{what} checkpoint: expected a dict with keys net, target, optim')
    try:
        net.load_state_dict(checkpoint['net'])
        target.load_state_dict(checkpoint.get('target', checkpoint['net']))
        if 'optim' in checkpoint:
            # Whether steps may be captured in a CUDA graph is the loader's choice, not the
            # saver's: capturable steps cost more where nothing captures them.
            capturable = [group.get('capturable', False) for group in optim.param_groups]
            optim.load_state_dict(checkpoint['optim'])
            for group, flag in zip(optim.param_groups, capturable):
                group['capturable'] = flag
    except (RuntimeError, KeyError, ValueError) as error:
        raise ValueError(f'{what} checkpoint does not fit the network: {error}') from error
