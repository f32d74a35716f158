"""Shared test set-up: mmdet's registries as the default scope (what configs do through
``default_scope = 'mmdet'``) and mmrock's modules registered."""
import pytest
from mmengine.registry import init_default_scope

import mmrock  # noqa: F401


@pytest.fixture(autouse=True, scope='session')
def mmdet_default_scope():
    init_default_scope('mmdet')
