"""mmrock: ROCK (NeurIPS 2018) for MMDetection 3.x.

The configs ship inside the package as ``mmrock/.mim/configs`` (a link to ``configs/`` in the
repository, copied into wheels), where mmengine looks for the bases of ``_base_ =
['mmrock::rock/ssd_r50_rock_nyuv2.py']``, as for mmdet's ``mmdet::`` configs.
"""
import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_requirements(path: str) -> list:
    """The requirement lines of ``path`` (comments and blank lines dropped)."""
    with open(osp.join(HERE, path), encoding='utf-8') as f:
        lines = (line.split('#', 1)[0].strip() for line in f)
        return [line for line in lines if line]


with open(osp.join(HERE, 'README.md'), encoding='utf-8') as f:
    long_description = f.read()

setup(
    name='mmrock',
    version='0.1.0',
    description='ROCK residual auxiliary block for multi-task detection, for MMDetection 3.x',
    long_description=long_description,
    long_description_content_type='text/markdown',
    license='Apache License 2.0',
    keywords='computer vision, object detection, multi-task learning, depth, surface normals',
    classifiers=[
        'License :: OSI Approved :: Apache Software License',
        'Operating System :: OS Independent',
        'Programming Language :: Python :: 3',
        'Programming Language :: Python :: 3.9',
        'Programming Language :: Python :: 3.10',
        'Programming Language :: Python :: 3.11',
    ],
    packages=find_packages(include=['mmrock', 'mmrock.*', 'mmrock_data', 'mmrock_data.*']),
    package_data={
        'mmrock': ['.mim/model-index.yml', '.mim/configs/**/*.py', '.mim/configs/**/*.yml']
    },
    include_package_data=False,
    python_requires='>=3.9,<3.12',
    # torch and mmcv are installed first, for the machine (README, "Install"), as for mmdet
    install_requires=read_requirements('requirements/runtime.txt'),
    extras_require={
        'mim': read_requirements('requirements/mminstall.txt'),
        'tests': read_requirements('requirements/tests.txt'),
    },
    zip_safe=False,
)
