"""Training with missing auxiliary labels: the mixed config (NYUv2 + a second dataset read
without normals and scene labels) and the per-sample masking of the auxiliary losses through
the full model."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmrock_data.converters.nyuv2_mat import convert_nyuv2
from mmrock_data.converters.synthetic_rooms import make_synthetic_nyuv2
from conftest import split_size
from sample_factory import build_model, make_sample, preprocess

REPO = Path(__file__).resolve().parents[3]
MIXED = REPO / 'configs' / 'rock' / 'ssd_r50_rock_nyuv2_mixed.py'
AUX = ('loss_scene', 'loss_depth', 'loss_normals')


@pytest.fixture(scope='module')
def second_dataset(tmp_path_factory) -> Path:
    """Other synthetic rooms (converted with all labels: the config drops some)."""
    root = tmp_path_factory.mktemp('second')
    info = make_synthetic_nyuv2(root / 'raw', 6, seed=11, height=48, width=64, progress=False)
    convert_nyuv2(
        info['mat'], info['splits'], root / 'data', normals_dir=info['normals'], progress=False)
    return root / 'data'


@pytest.mark.slow
def test_mixed_config_yields_samples_with_and_without_labels(tiny_nyuv2, second_dataset):
    cfg = Config.fromfile(str(MIXED))
    loader_cfg = cfg.train_dataloader
    nyuv2, second = loader_cfg.dataset.datasets
    nyuv2.data_root, second.data_root = f'{tiny_nyuv2}/', f'{second_dataset}/'
    loader_cfg.update(batch_size=6, num_workers=0, persistent_workers=False)
    loader = Runner.build_dataloader(loader_cfg, seed=0)
    assert len(loader.dataset) == split_size(tiny_nyuv2, 'train') + len(loader.dataset.datasets[1])

    seen = {'nyuv2': 0, 'second': 0}
    batches = iter(loader)
    for _ in range(3):
        for sample in next(batches)['data_samples']:
            if sample.img_path.startswith(str(second_dataset)):
                seen['second'] += 1
                assert 'gt_normals' not in sample and 'gt_scene_label' not in sample
                assert sample.gt_depth.shape == (480, 640)  # the label it keeps
            else:
                seen['nyuv2'] += 1
                assert sample.gt_normals.shape == sample.gt_depth.shape == (480, 640)
                assert 'gt_scene_label' in sample
    assert seen['nyuv2'] > 0 and seen['second'] > 0  # batches do mix the two sets


def test_mixed_batch_gives_the_loss_of_its_labelled_samples():
    """Full light model, BatchNorm in eval mode (running statistics). In train mode BN
    normalises with the statistics of the whole batch, so adding any sample, labelled or not,
    changes every sample's features and all the losses: a property of BN, not of the masking.
    With per-sample normalisation, the auxiliary losses of a batch mixing labelled and unlabelled
    samples must be those of its labelled sub-batch, and the unlabelled images must get no
    gradient from them."""
    torch.manual_seed(0)
    model = build_model('ssd_r18_rock_demo.py').eval()
    hw = (240, 320)
    labelled = [make_sample(hw, seed=0), make_sample(hw, seed=2)]
    unlabelled = [
        make_sample(hw, seed=1, depth=False, normals=False, scene=False),
        make_sample(hw, seed=3, depth=False, normals=False, scene=False)
    ]
    data = preprocess(model, [labelled[0], unlabelled[0], labelled[1], unlabelled[1]])
    inputs = data['inputs'].clone().requires_grad_(True)
    mixed = model.loss(inputs, data['data_samples'])
    sum(mixed[key] for key in AUX).backward()
    sub = model.loss(data['inputs'][[0, 2]], [data['data_samples'][i] for i in (0, 2)])
    for key in AUX:
        torch.testing.assert_close(mixed[key].detach(), sub[key].detach(), rtol=1e-6, atol=0)
        assert mixed[key] > 0
    assert inputs.grad[[1, 3]].abs().max() == 0 and inputs.grad[[0, 2]].abs().max() > 0


def test_partly_labelled_batch_masks_each_task_separately():
    """Each sample lacks a different label: each task's loss is that of the samples having it."""
    torch.manual_seed(0)
    model = build_model('ssd_r18_rock_demo.py').eval()
    hw = (240, 320)
    samples = [
        make_sample(hw, seed=0, depth=False),
        make_sample(hw, seed=1, normals=False),
        make_sample(hw, seed=2, scene=False)
    ]
    data = preprocess(model, samples)
    losses = model.loss(data['inputs'], data['data_samples'])
    having = dict(loss_depth=[1, 2], loss_normals=[0, 2], loss_scene=[0, 1])
    for key, idx in having.items():
        sub = model.loss(data['inputs'][idx], [data['data_samples'][i] for i in idx])
        torch.testing.assert_close(losses[key], sub[key], rtol=1e-6, atol=0)
