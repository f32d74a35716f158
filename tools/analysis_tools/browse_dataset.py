"""mmdet's tools/analysis_tools/browse_dataset.py, run as it is (same arguments) on an mmrock
config, whose visualizer (ROCKLocalVisualizer) draws the ground-truth depth, normals and scene
beside the boxes of each augmented training sample.

    python tools/analysis_tools/browse_dataset.py CONFIG --output-dir DIR --not-show
"""
import os.path as osp
import runpy
import sys

import mmdet

SCRIPT = osp.join(
    osp.dirname(mmdet.__file__), '.mim', 'tools', 'analysis_tools', 'browse_dataset.py')

if __name__ == '__main__':
    if not osp.isfile(SCRIPT):
        sys.exit(f'{SCRIPT} is missing: reinstall mmdet from PyPI (pip install mmdet==3.3.0), '
                 'whose package carries its tools')
    sys.argv[0] = SCRIPT
    runpy.run_path(SCRIPT, run_name='__main__')
