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
Joint layout of a model: which state slots belong to which named joint and actuator.

Exported policies carry this layout as metadata, so a robot computer can map
``sensor_msgs/JointState`` onto the state without MuJoCo.
"""

from __future__ import annotations

from typing import Any


def joint_layout(model: Any) -> dict[str, list]:
    """
    Names and state slots of a model's 1-DoF (hinge and slide) joints, and command order.

    :param model: A ``mujoco.MjModel``.

    :returns: ``joint_names``, ``joint_qpos_index``, ``joint_qvel_index`` (indices into the state
        ``[qpos, qvel(, act)]``), ``actuated_joint_names`` and ``actuator_names`` (one per
        actuator, in command order). Unnamed joints get the stable name ``joint_<id>``.
    """
    import mujoco  # the layout of an exported policy is read without MuJoCo

    def name(kind: Any, index: int, fallback: str) -> str:
        return mujoco.mj_id2name(model, kind, index) or f'{fallback}_{index}'

    one_dof = (int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE))
    joints = [j for j in range(model.njnt) if int(model.jnt_type[j]) in one_dof]
    return {
        'joint_names': [name(mujoco.mjtObj.mjOBJ_JOINT, j, 'joint') for j in joints],
        'joint_qpos_index': [int(model.jnt_qposadr[j]) for j in joints],
        'joint_qvel_index': [int(model.nq + model.jnt_dofadr[j]) for j in joints],
        'actuated_joint_names': [
            name(mujoco.mjtObj.mjOBJ_JOINT, int(model.actuator_trnid[a, 0]), 'joint')
            for a in range(model.nu)],
        'actuator_names': [name(mujoco.mjtObj.mjOBJ_ACTUATOR, a, 'actuator')
                           for a in range(model.nu)],
    }
