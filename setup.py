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

"""ament_python package ddpg_manipulation; also pip-installable (``pip install -e .[dev]``)."""

from glob import glob

from setuptools import find_packages, setup

package_name = 'ddpg_manipulation'

# pytest unpinned: the ROS distribution's own (python3-pytest) satisfies it, so pip leaves the
# pytest plugins of launch_testing and the ament linters with the pytest they were built for.
TEST_REQUIRES = ['pytest', 'pytest-timeout', 'hypothesis>=6.100']

setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(exclude=['test', 'test.*', 'bench', 'bench.*']),
    package_data={package_name: ['tasks/*.yaml', 'tasks/*.xml']},
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
        ('share/' + package_name + '/launch', glob('launch/*.launch.py')),
        ('share/' + package_name + '/config', glob('config/*.yaml')),
        ('share/' + package_name + '/tasks', glob(package_name + '/tasks/*')),
    ],
    python_requires='>=3.10',
    # torch is installed first, pinned (see README); these ranges accept that install.
    install_requires=[
        'torch>=2.3',
        'tensordict>=0.14,<0.15',
        'torchrl>=0.14,<0.15',
        'mujoco>=3.3.5',
        'numpy>=1.24',
        'PyYAML>=6.0',
        'fsspec>=2024.2',
        'tensorboard>=2.15',
        'tqdm>=4.66',
        'matplotlib>=3.7',
        'setuptools',
    ],
    extras_require={
        # What the test suite imports besides the package's own dependencies. colcon reads this
        # extra (it no longer sees `tests_require`, which setuptools dropped) to run the suite
        # with pytest; docs/ros.md installs only this one into a ROS environment, whose ament
        # linters and flake8 come from the ROS distribution.
        'test': TEST_REQUIRES,
        'dev': [
            *TEST_REQUIRES,
            'pytest>=8',
            'ruff==0.17.5',
            # The ament linters that `colcon test` runs, for the plain Python workflow: the real
            # ament_pep257, and ament_flake8's checks as flake8 with its plugins (.ci/run).
            'ament-lint-pep257',
            'flake8>=7',
            'flake8-blind-except',
            'flake8-builtins',
            'flake8-class-newline',
            'flake8-comprehensions',
            'flake8-deprecated',
            'flake8-docstrings',
            'flake8-import-order',
            'flake8-quotes',
            # Type checker of .ci/run and `make lint` (configuration in pyproject.toml).
            'mypy==2.4.1',
        ],
        'export': ['onnx>=1.16', 'onnxruntime>=1.18'],
        'render': ['imageio>=2.34', 'imageio-ffmpeg>=0.5', 'pillow>=9.1'],
    },
    zip_safe=True,
    maintainer='The ddpg_manipulation Authors',
    maintainer_email='ddpg-manipulation@example.com',
    description='DDPG manipulation policies learned from graph-planner demonstrations '
                'over MuJoCo, deployed as ROS 2 nodes.',
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'ddpg-manipulation = ddpg_manipulation.cli:main',
            'planner_bridge_node = ddpg_manipulation.ros.executables:planner_bridge_node',
            'training_node = ddpg_manipulation.ros.executables:training_node',
            'policy_node = ddpg_manipulation.ros.executables:policy_node',
            'sim_node = ddpg_manipulation.ros.executables:sim_node',
        ],
    },
)
