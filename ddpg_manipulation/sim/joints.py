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
    Names and state slots of a model's joints, and command order.

    :param model: A ``mujoco.MjModel``.

    :returns: ``joint_names``, ``joint_qpos_index``, ``joint_qvel_index`` of the 1-DoF (hinge and
        slide) joints (indices into the state ``[qpos, qvel(, act)]``); ``free_joint_names``,
        ``free_joint_qpos_index`` (the first of its 7 values x y z qw qx qy qz) and
        ``free_joint_qvel_index`` (the first of its 6: linear velocity in the world frame, then
        angular velocity in the body frame) of the free joints (an object's pose); and
        ``quaternion_qpos_index``, the w slot of every free and ball joint's quaternion;
        ``actuated_joint_names`` and ``actuator_names`` (one per actuator, in command order).
        Unnamed joints get the stable name ``joint_<id>``.
    """
    import mujoco  # the layout of an exported policy is read without MuJoCo

    def name(kind: Any, index: int, fallback: str) -> str:
        return mujoco.mj_id2name(model, kind, index) or f'{fallback}_{index}'

    def joint_name(index: int) -> str:
        return name(mujoco.mjtObj.mjOBJ_JOINT, index, 'joint')

    one_dof = (int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE))
    free, ball = int(mujoco.mjtJoint.mjJNT_FREE), int(mujoco.mjtJoint.mjJNT_BALL)
    kinds = [int(model.jnt_type[j]) for j in range(model.njnt)]
    joints = [j for j in range(model.njnt) if kinds[j] in one_dof]
    frees = [j for j in range(model.njnt) if kinds[j] == free]
    return {
        'joint_names': [joint_name(j) for j in joints],
        'joint_qpos_index': [int(model.jnt_qposadr[j]) for j in joints],
        'joint_qvel_index': [int(model.nq + model.jnt_dofadr[j]) for j in joints],
        'free_joint_names': [joint_name(j) for j in frees],
        'free_joint_qpos_index': [int(model.jnt_qposadr[j]) for j in frees],
        'free_joint_qvel_index': [int(model.nq + model.jnt_dofadr[j]) for j in frees],
        'quaternion_qpos_index': [int(model.jnt_qposadr[j]) + (3 if kinds[j] == free else 0)
                                  for j in range(model.njnt) if kinds[j] in (free, ball)],
        'actuated_joint_names': [
            joint_name(int(model.actuator_trnid[a, 0])) for a in range(model.nu)],
        'actuator_names': [name(mujoco.mjtObj.mjOBJ_ACTUATOR, a, 'actuator')
                           for a in range(model.nu)],
    }
