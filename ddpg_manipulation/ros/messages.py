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
Demonstrations <-> ``std_msgs/Float32MultiArray`` layout, on plain numpy (no rclpy).

One message carries one demonstration: a row-major matrix with one row per transition (in path
order) and the five transition blocks side by side::

    columns = [ states | relative_actions | next_states | start_states | goal_states ]
                  nx           nu               nx            nx             nx

``layout.dim`` (``std_msgs/MultiArrayDimension``: label, size, stride):

=====  ===================  ===============  ===================
index  label                size             stride
=====  ===================  ===============  ===================
0      ``transitions``      rows             rows * columns
1      ``columns``          columns          columns
2      ``states``           nx               nx
3      ``relative_actions`` nu               nu
4      ``next_states``      nx               nx
5      ``start_states``     nx               nx
6      ``goal_states``      nx               nx
=====  ===================  ===============  ===================

Dims 0 and 1 are the standard row-major description of the matrix (``data[data_offset + r *
columns + c]``). Dims 2-6 only name the column blocks, in order, with their widths; their sizes
sum to ``columns``. ``data_offset`` is 0 when sent; a receiver honours any offset.

A state block is the state ``[qpos (nq), qvel (nv), act (na)]``, so ``nx = nq + nv + na``; where
the model has free or ball joints ``nq > nv`` (a free joint: 7 positions x y z qw qx qy qz, 6
velocities), and the receiver, which knows its task's model, splits the block there. Received
quaternions must be unit quaternions (to float32 precision, :data:`QUATERNION_TOLERANCE`).

The functions take and fill "MultiArray-like" objects (anything with ``layout.dim[i].label/
size/stride``, ``layout.data_offset`` and ``data``), so the real message and a test double work
the same; :class:`FlatArray` is the plain container used in between.
"""

from __future__ import annotations

import array
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

#: Column blocks of a demonstration message, in order.
BLOCKS = ('states', 'relative_actions', 'next_states', 'start_states', 'goal_states')
STATE_BLOCKS = ('states', 'next_states', 'start_states', 'goal_states')
# float32 keeps a unit quaternion's norm within a few 1e-7; the planner's states are MuJoCo's.
QUATERNION_TOLERANCE = 1e-4
ROWS_LABEL = 'transitions'
COLUMNS_LABEL = 'columns'


class LayoutError(ValueError):
    """A demonstration message does not have the layout this task expects."""


@dataclass(frozen=True)
class Dim:
    """One ``std_msgs/MultiArrayDimension``."""

    label: str
    size: int
    stride: int


@dataclass
class FlatArray:
    """
    What a ``Float32MultiArray`` holds: dims, data offset and flat data.

    :param dims: Layout dimensions.
    :param data: Flat float32 data.
    :param data_offset: Index of the first element in ``data``.
    """

    dims: list[Dim]
    data: np.ndarray
    data_offset: int = 0


def block_sizes(state_dimension: int, action_dimension: int) -> dict[str, int]:
    """
    Width of each column block for a task.

    :param state_dimension: nx.
    :param action_dimension: nu.

    :returns: Block name -> width, in message order.
    """
    return {name: action_dimension if name == 'relative_actions' else state_dimension
            for name in BLOCKS}


def demonstration_to_flat(demonstration: Mapping[str, Any]) -> FlatArray:
    """
    Pack one demonstration (transitions) into the message layout.

    :param demonstration: Mapping (or TensorDict) with the five transition keys, each of shape
        (rows, width); numpy arrays or torch tensors.

    :returns: The flat array.
    """
    blocks = []
    for name in BLOCKS:
        if name not in demonstration.keys():
            raise LayoutError(f'demonstration: missing key {name!r}')
        value = demonstration[name]
        if hasattr(value, 'detach'):
            value = value.detach().cpu().numpy()
        value = np.asarray(value, dtype=np.float32)
        if value.ndim != 2:
            raise LayoutError(f'demonstration: key {name!r} has shape {value.shape}, '
                              'expected (transitions, width)')
        blocks.append(value)
    rows = blocks[0].shape[0]
    if any(b.shape[0] != rows for b in blocks):
        raise LayoutError('demonstration: keys have different numbers of transitions: '
                          + ', '.join(f'{n}={b.shape[0]}' for n, b in zip(BLOCKS, blocks)))
    matrix = np.concatenate(blocks, axis=1)
    columns = matrix.shape[1]
    dims = [Dim(ROWS_LABEL, rows, rows * columns), Dim(COLUMNS_LABEL, columns, columns)]
    dims += [Dim(name, b.shape[1], b.shape[1]) for name, b in zip(BLOCKS, blocks)]
    return FlatArray(dims, np.ascontiguousarray(matrix).reshape(-1))


def flat_to_demonstration(
    flat: FlatArray, state_dimension: int, action_dimension: int,
    quaternion_slots: Sequence[int] = (),
) -> dict[str, np.ndarray]:
    """
    Unpack and validate a message for a task.

    :param flat: The received layout and data.
    :param state_dimension: The task's nx.
    :param action_dimension: The task's nu.
    :param quaternion_slots: The w slot of every quaternion of the task's state (free and ball
        joints): each must be a unit quaternion in every state block.

    :returns: Block name -> float32 array (rows, width).
    """
    sizes = block_sizes(state_dimension, action_dimension)
    expected_labels = [ROWS_LABEL, COLUMNS_LABEL, *BLOCKS]
    labels = [d.label for d in flat.dims]
    if labels != expected_labels:
        raise LayoutError(f'layout labels {labels}, expected {expected_labels}')
    rows_dim, columns_dim = flat.dims[0], flat.dims[1]
    rows, columns = rows_dim.size, columns_dim.size
    for dim in flat.dims[2:]:
        if dim.size != sizes[dim.label]:
            raise LayoutError(
                f"block '{dim.label}' has {dim.size} columns, the task expects "
                f'{sizes[dim.label]} (state size {state_dimension}, action size '
                f'{action_dimension})')
    if columns != sum(sizes.values()):
        raise LayoutError(f"dim 'columns' is {columns}, the blocks add up to "
                          f'{sum(sizes.values())}')
    if rows < 1:
        raise LayoutError(f"dim 'transitions' is {rows}, expected at least 1")
    if rows_dim.stride != rows * columns or columns_dim.stride != columns:
        raise LayoutError(
            f'strides ({rows_dim.stride}, {columns_dim.stride}) do not describe a row-major '
            f'{rows} x {columns} matrix (expected ({rows * columns}, {columns}))')
    if flat.data_offset < 0:
        raise LayoutError(f'data_offset {flat.data_offset} is negative')
    data = np.asarray(flat.data, dtype=np.float32).reshape(-1)
    needed = flat.data_offset + rows * columns
    if data.shape[0] != needed:
        raise LayoutError(f'data has {data.shape[0]} values, the layout needs {needed}')
    matrix = data[flat.data_offset:].reshape(rows, columns)
    if not np.all(np.isfinite(matrix)):
        bad = np.argwhere(~np.isfinite(matrix))[0]
        name, _ = _block_at(int(bad[1]), sizes)
        raise LayoutError(f'data holds NaN or inf (transition {int(bad[0])}, block {name!r})')
    result = {}
    start = 0
    for name, width in sizes.items():
        result[name] = np.ascontiguousarray(matrix[:, start:start + width])
        start += width
    for name in STATE_BLOCKS:
        for slot in quaternion_slots:
            norms = np.linalg.norm(result[name][:, slot:slot + 4].astype(np.float64), axis=1)
            bad = np.flatnonzero(np.abs(norms - 1.0) > QUATERNION_TOLERANCE)
            if bad.size:
                raise LayoutError(
                    f"block '{name}', transition {int(bad[0])}: the quaternion at state values "
                    f'{slot}-{slot + 3} has norm {norms[bad[0]]:.6g}, expected 1')
    return result


def _block_at(column: int, sizes: Mapping[str, int]) -> tuple[str, int]:
    start = 0
    for name, width in sizes.items():
        if column < start + width:
            return name, column - start
        start += width
    return '?', column


# -- MultiArray-like objects ------------------------------------------------------------------

def read_multiarray(message: Any) -> FlatArray:
    """
    Read the layout and data of a ``Float32MultiArray`` (or anything shaped like one).

    :param message: The message.

    :returns: The flat array (data viewed as float32 without copying where possible).
    """
    try:
        dims = [Dim(str(d.label), int(d.size), int(d.stride)) for d in message.layout.dim]
        offset = int(message.layout.data_offset)
        data = message.data
    except (AttributeError, TypeError, ValueError) as error:
        raise LayoutError(f'not a MultiArray message: {error}') from error
    if isinstance(data, array.array) and data.typecode == 'f':
        values = np.frombuffer(data, dtype=np.float32) if len(data) else np.empty(0, np.float32)
    else:
        try:
            values = np.asarray(data, dtype=np.float32).reshape(-1)
        except (TypeError, ValueError) as error:
            raise LayoutError(f'data is not a sequence of numbers: {error}') from error
    return FlatArray(dims, values, offset)


def fill_multiarray(message: Any, flat: FlatArray, make_dim: Callable[[], Any]) -> Any:
    """
    Write a flat array into a ``Float32MultiArray`` (or anything shaped like one).

    :param message: The message to fill.
    :param flat: Layout and data.
    :param make_dim: Creates an empty ``MultiArrayDimension``.

    :returns: The message.
    """
    dims = []
    for dim in flat.dims:
        made = make_dim()
        made.label, made.size, made.stride = dim.label, int(dim.size), int(dim.stride)
        dims.append(made)
    message.layout.dim = dims
    message.layout.data_offset = int(flat.data_offset)
    message.data = float32_array(flat.data)
    return message


def float32_array(values: np.ndarray) -> array.array:
    """
    Convert numbers to the ``array.array('f')`` a float32[] message field takes as is.

    :param values: Numbers.

    :returns: The array.
    """
    out = array.array('f')
    out.frombytes(np.ascontiguousarray(values, dtype=np.float32).tobytes())
    return out


def float64_array(values: np.ndarray) -> array.array:
    """
    Convert numbers to the ``array.array('d')`` a float64[] message field takes as is.

    :param values: Numbers.

    :returns: The array.
    """
    out = array.array('d')
    out.frombytes(np.ascontiguousarray(values, dtype=np.float64).tobytes())
    return out


def float64_values(data: Any) -> np.ndarray:
    """
    Read the ``data`` of a ``Float64MultiArray`` as a float64 numpy array (a copy).

    :param data: ``array.array('d')``, list or array of numbers.

    :returns: 1-D float64 array.
    """
    if isinstance(data, array.array) and data.typecode == 'd':
        return np.frombuffer(data, dtype=np.float64).copy() if len(data) else np.empty(0)
    try:
        return np.asarray(data, dtype=np.float64).reshape(-1).copy()
    except (TypeError, ValueError) as error:
        raise LayoutError(f'data is not a sequence of numbers: {error}') from error
