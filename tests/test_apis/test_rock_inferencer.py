"""ROCKInferencer's class presence and segmentation outputs (its scene, depth and normals, on a
trained model: tests/test_visualization/test_visualization.py), and the label map the
segmentation output is, by hand."""
import json

import numpy as np
import torch
from mmdet.structures import DetDataSample
from PIL import Image

from mmrock.visualization import seg_prediction
from conftest import REPO

CONFIG = REPO / 'configs/rock/ssd_r18-roomspre_rock-presence-seg_1xb8-400it_demo.py'


def test_seg_prediction_by_hand():
    """A 20x40 image in a 32x48 batch, a 4x6 grid over the batch (8x8-pixel cells): the image
    is covered by 3x5 cells; shown at its original 10x20 size."""
    scores = torch.zeros(3, 3, 5)
    top = torch.tensor([[0, 1, 2, 0, 1], [2, 2, 2, 1, 1], [1, 0, 0, 0, 2]])
    scores.scatter_(0, top[None], 1.0)
    sample = DetDataSample(
        metainfo=dict(
            img_shape=(20, 40),
            ori_shape=(10, 20),
            batch_input_shape=(32, 48),
            aux_batch_grid_shape=(4, 6)))
    sample.pred_seg_scores = scores
    labels = seg_prediction(sample)
    assert labels.shape == (10, 20) and labels.dtype == np.uint8
    # original pixel (i, j) -> image pixel (2i, 2j) -> cell (2i // 8, 2j // 8)
    expected = [[int(top[2 * i // 8, 2 * j // 8]) for j in range(20)] for i in range(10)]
    assert labels.tolist() == expected
    assert seg_prediction(DetDataSample()) is None


def test_presence_and_seg_outputs(tmp_path):
    """The demo's ROCK(presence + seg) config, untrained: presence probabilities per class, the
    seg label map on the original image, returned or saved as a PNG of labels."""
    from mmrock.apis import ROCKInferencer
    image = tmp_path / 'room.png'
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (200, 300, 3), dtype=np.uint8)).save(image)
    inferencer = ROCKInferencer(model=str(CONFIG), device='cpu', show_progress=False)
    [pred] = inferencer(str(image))['predictions']
    assert len(pred['presence_scores']) == 19
    assert all(0 <= p <= 1 for p in pred['presence_scores'])
    seg = pred['seg']
    assert seg.shape == (200, 300) and seg.dtype == np.uint8 and seg.max() <= 20  # 20 classes
    out_dir = tmp_path / 'out'
    [saved] = inferencer(str(image), out_dir=str(out_dir), no_save_pred=False)['predictions']
    assert saved['seg_path'] == str(out_dir / 'preds' / 'room_seg.png')
    assert np.array_equal(np.asarray(Image.open(saved['seg_path'])), seg)
    on_disk = json.loads((out_dir / 'preds' / 'room.json').read_text())
    assert on_disk['seg_path'] == saved['seg_path'] and 'seg' not in on_disk
