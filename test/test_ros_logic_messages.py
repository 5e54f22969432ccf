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

"""Demonstration <-> Float32MultiArray layout conversion, without ROS."""

import array
from types import SimpleNamespace

import numpy as np
import pytest
from tensordict import TensorDict
import torch

from ddpg_manipulation.ros.demo_queue import to_transitions
from ddpg_manipulation.ros.messages import (
    BLOCKS,
    demonstration_to_flat,
    Dim,
    fill_multiarray,
    flat_to_demonstration,
    FlatArray,
    float32_array,
    float64_array,
    float64_values,
    LayoutError,
    read_multiarray,
)
from ddpg_manipulation.transitions import check_transitions

NX, NU = 4, 1


def make_demonstration(rows=5, nx=NX, nu=NU, seed=0):
    generator = torch.Generator().manual_seed(seed)
    sizes = {'states': nx, 'relative_actions': nu, 'next_states': nx, 'start_states': nx,
             'goal_states': nx}
    return TensorDict({k: torch.randn(rows, n, generator=generator) for k, n in sizes.items()},
                      batch_size=[rows])


def message_like():
    """Return a stand-in for std_msgs/Float32MultiArray (same attribute names)."""
    return SimpleNamespace(layout=SimpleNamespace(dim=[], data_offset=0), data=array.array('f'))


def new_dim():
    return SimpleNamespace(label='', size=0, stride=0)


def test_layout_dims_name_rows_columns_and_blocks():
    flat = demonstration_to_flat(make_demonstration(rows=5))
    columns = 4 * NX + NU
    assert [d.label for d in flat.dims] == ['transitions', 'columns', *BLOCKS]
    assert flat.dims[0] == Dim('transitions', 5, 5 * columns)
    assert flat.dims[1] == Dim('columns', columns, columns)
    assert [d.size for d in flat.dims[2:]] == [NX, NU, NX, NX, NX]
    assert flat.data.dtype == np.float32 and flat.data.shape == (5 * columns,)
    assert flat.data_offset == 0


def test_columns_are_the_blocks_side_by_side_in_message_order():
    demo = make_demonstration(rows=3)
    matrix = demonstration_to_flat(demo).data.reshape(3, -1)
    np.testing.assert_array_equal(matrix[:, :NX], demo['states'].numpy())
    np.testing.assert_array_equal(matrix[:, NX:NX + NU], demo['relative_actions'].numpy())
    np.testing.assert_array_equal(matrix[:, NX + NU:2 * NX + NU], demo['next_states'].numpy())
    np.testing.assert_array_equal(matrix[:, -NX:], demo['goal_states'].numpy())


def test_round_trip_through_a_message_is_exact():
    demo = make_demonstration(rows=7)
    message = fill_multiarray(message_like(), demonstration_to_flat(demo), new_dim)
    assert isinstance(message.data, array.array) and message.data.typecode == 'f'
    back = flat_to_demonstration(read_multiarray(message), NX, NU)
    for key in BLOCKS:
        np.testing.assert_array_equal(back[key], demo[key].numpy())
    transitions = to_transitions(back)
    check_transitions(transitions, NX, NU)  # the learner's own check passes
    assert transitions['states'].dtype == torch.float32


def test_round_trip_accepts_numpy_mappings_and_planar_hand_sizes():
    demo = {k: v.numpy() for k, v in make_demonstration(rows=2, nx=14, nu=4).items()}
    back = flat_to_demonstration(demonstration_to_flat(demo), 14, 4)
    np.testing.assert_array_equal(back['relative_actions'], demo['relative_actions'])


def test_receiver_honours_a_data_offset():
    flat = demonstration_to_flat(make_demonstration(rows=2))
    shifted = FlatArray(flat.dims, np.concatenate([[99.0, 98.0], flat.data]), data_offset=2)
    back = flat_to_demonstration(shifted, NX, NU)
    np.testing.assert_array_equal(back['states'], flat.data.reshape(2, -1)[:, :NX])


@pytest.mark.parametrize('nx, nu, match', [
    (5, 1, "block 'states' has 4 columns, the task expects 5"),
    (4, 2, "block 'relative_actions' has 1 columns, the task expects 2"),
])
def test_block_sizes_must_fit_the_task(nx, nu, match):
    flat = demonstration_to_flat(make_demonstration())
    with pytest.raises(LayoutError, match=match):
        flat_to_demonstration(flat, nx, nu)


def _with_dims(flat, **changes):
    dims = list(flat.dims)
    for index, dim in changes.items():
        dims[int(index[1:])] = dim
    return FlatArray(dims, flat.data, flat.data_offset)


def test_wrong_labels_are_rejected():
    flat = demonstration_to_flat(make_demonstration())
    swapped = FlatArray([flat.dims[0], flat.dims[1], flat.dims[4], *flat.dims[3:4],
                         flat.dims[2], *flat.dims[5:]], flat.data)
    with pytest.raises(LayoutError, match='layout labels'):
        flat_to_demonstration(swapped, NX, NU)
    with pytest.raises(LayoutError, match='layout labels'):
        flat_to_demonstration(FlatArray(flat.dims[:2], flat.data), NX, NU)


def test_inconsistent_sizes_and_strides_are_rejected():
    flat = demonstration_to_flat(make_demonstration(rows=5))
    columns = flat.dims[1].size
    with pytest.raises(LayoutError, match="dim 'columns'"):
        flat_to_demonstration(_with_dims(flat, d1=Dim('columns', columns + 1, columns + 1)),
                              NX, NU)
    with pytest.raises(LayoutError, match='strides'):
        flat_to_demonstration(_with_dims(flat, d0=Dim('transitions', 5, 5)), NX, NU)
    with pytest.raises(LayoutError, match='at least 1'):
        flat_to_demonstration(FlatArray([Dim('transitions', 0, 0), *flat.dims[1:]],
                                        np.empty(0, np.float32)), NX, NU)


@pytest.mark.parametrize('length', [0, 10, 84, 86, 200])
def test_data_length_must_match_the_layout(length):
    flat = demonstration_to_flat(make_demonstration(rows=5))  # needs 5 * 17 = 85 values
    with pytest.raises(LayoutError, match='the layout needs 85'):
        flat_to_demonstration(FlatArray(flat.dims, np.zeros(length, np.float32)), NX, NU)


def test_negative_offset_is_rejected():
    flat = demonstration_to_flat(make_demonstration())
    with pytest.raises(LayoutError, match='negative'):
        flat_to_demonstration(FlatArray(flat.dims, flat.data, -1), NX, NU)


@pytest.mark.parametrize('bad', [np.nan, np.inf, -np.inf])
def test_nan_and_inf_are_rejected_naming_the_block(bad):
    flat = demonstration_to_flat(make_demonstration(rows=3))
    data = flat.data.copy()
    data[17 + NX] = bad  # transition 1, first column of relative_actions
    match = r"NaN or inf \(transition 1, block 'relative_actions'\)"
    with pytest.raises(LayoutError, match=match):
        flat_to_demonstration(FlatArray(flat.dims, data), NX, NU)


def test_packing_checks_its_input():
    demo = make_demonstration(rows=3)
    with pytest.raises(LayoutError, match="missing key 'goal_states'"):
        demonstration_to_flat({k: v for k, v in demo.items() if k != 'goal_states'})
    uneven = {k: v.numpy() for k, v in demo.items()}
    uneven['next_states'] = uneven['next_states'][:2]
    with pytest.raises(LayoutError, match='different numbers of transitions'):
        demonstration_to_flat(uneven)


def test_reading_garbage_messages_raises_layout_error():
    with pytest.raises(LayoutError, match='not a MultiArray'):
        read_multiarray(SimpleNamespace(data=[1.0]))
    message = message_like()
    message.data = ['a', 'b']
    with pytest.raises(LayoutError, match='not a sequence of numbers'):
        read_multiarray(message)


def test_float_array_helpers():
    values = np.array([1.5, -2.0, 3.25])
    assert float32_array(values).typecode == 'f' and list(float32_array(values)) == [1.5, -2, 3.25]
    as_double = float64_array(values)
    assert as_double.typecode == 'd'
    np.testing.assert_array_equal(float64_values(as_double), values)
    np.testing.assert_array_equal(float64_values([1, 2]), [1.0, 2.0])
    assert float64_values(array.array('d')).shape == (0,)
    with pytest.raises(ValueError):
        float64_values(['x'])
