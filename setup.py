from setuptools import find_packages, setup

setup(
    name='mmrock',
    version='0.1.0',
    description='ROCK residual auxiliary block for multi-task detection, for MMDetection 3.x',
    packages=find_packages(include=['mmrock', 'mmrock.*']),
    python_requires='>=3.9',
    install_requires=[],  # see requirements.txt (mmcv must be built with --no-build-isolation)
)
