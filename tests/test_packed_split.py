"""Decode-free packs give the same samples as the PNG layout they are written from: loaders
(decoded and undecoded labels), missing labels, and the paper's full training pipeline (bit for
bit, but zoomed normals within FusedGeometry's NORMALS_ATOL)."""
import json
import shutil

import numpy as np
import pytest
from mmengine.config import Config

from conftest import REPO, check_ok, run_python
from mmdet.registry import DATASETS
from mmrock.datasets import fused_pipeline, open_pack, pack_split
from mmrock.datasets.transforms.fused_geometry import NORMALS_ATOL
from mmrock_data.converters.errors import DataFormatError

PAPER = str(REPO / 'configs' / 'rock' / 'ssd_r50_rock_nyuv2.py')


@pytest.fixture(scope='module')
def packed(tiny_nyuv2, tmp_path_factory):
    """The tiny NYUv2's train split with one depth and one normal mask file dropped from the
    json (labels missing for those images), and its pack written by the CLI."""
    root = tmp_path_factory.mktemp('packed_nyuv2')
    data = root / 'nyuv2'
    shutil.copytree(tiny_nyuv2, data)
    ann = json.loads((data / 'annotations' / 'nyuv2_train.json').read_text())
    del ann['images'][0]['depth_file']
    del ann['images'][1]['normal_mask_file']
    (data / 'annotations' / 'nyuv2_train.json').write_text(json.dumps(ann))
    check_ok(run_python('tools/dataset_converters/pack_split.py', '--data-root', data,
                        '--ann-file', 'annotations/nyuv2_train.json', '--out',
                        data / 'packed' / 'train', '--no-progress'))
    return data


def build(data, pipeline, pack=None):
    cfg = Config.fromfile(PAPER).train_dataloader.dataset
    cfg.update(data_root=f'{data}/', pipeline=pipeline, pack=pack)
    return DATASETS.build(cfg)


def samples(dataset, seeds):
    for seed in seeds:
        np.random.seed(seed)
        yield dataset[seed % len(dataset)]


def test_packed_loaders_give_the_png_arrays(packed):
    png_pipeline = [dict(type='LoadImageFromFile'),
                    dict(type='LoadMultiTaskAnnotations', with_bbox=True)]
    for decode in (True, False):
        png_pipeline[1]['decode_dense'] = decode
        if not decode:  # undecoded labels need a FusedGeometry (here of a flip that never flips)
            png_pipeline.append(dict(type='FusedGeometry', transforms=[
                dict(type='MultiTaskRandomFlip', prob=0.)]))
        png = build(packed, png_pipeline)
        pack = build(packed, fused_pipeline(png_pipeline, packed=True), pack='packed/train')
        for i in range(len(png)):
            a, b = png[i], pack[i]
            assert set(a) == set(b) - {'pack_dir'}
            for key in ('img', 'gt_depth', 'gt_normals', 'gt_bboxes_labels'):
                if key in a:
                    np.testing.assert_array_equal(a[key], b[key], err_msg=key)
                    assert a[key].dtype == b[key].dtype
            np.testing.assert_array_equal(a['gt_bboxes'].numpy(), b['gt_bboxes'].numpy())
            assert a['gt_scene_label'] == b['gt_scene_label']
    assert 'gt_depth' not in png[0] and 'gt_depth' in png[1]  # the dropped depth file
    np.testing.assert_array_equal(png[1]['gt_normals'], pack[1]['gt_normals'])  # no mask file


def test_packed_paper_pipeline_gives_the_same_samples(packed):
    base = Config.fromfile(PAPER).train_pipeline
    png = build(packed, base)
    pack = build(packed, fused_pipeline(base, packed=True), pack='packed/train')
    for a, b in zip(samples(png, range(24)), samples(pack, range(24))):
        np.testing.assert_array_equal(a['inputs'].numpy(), b['inputs'].numpy())
        sa, sb = a['data_samples'], b['data_samples']
        for key in ('bboxes', 'labels'):
            np.testing.assert_array_equal(getattr(sa.gt_instances, key).numpy(),
                                          getattr(sb.gt_instances, key).numpy())
        for key in ('gt_depth', 'gt_normals', 'gt_scene_label'):
            assert (key in sa) == (key in sb)
            if key in sa:
                va, vb = getattr(sa, key), getattr(sb, key)
                va, vb = (va.data, vb.data) if key != 'gt_scene_label' else (va, vb)
                np.testing.assert_allclose(va.numpy(), vb.numpy(), rtol=0,
                                           atol=NORMALS_ATOL if key == 'gt_normals' else 0)
        assert sa.metainfo['flip'] == sb.metainfo['flip']
        assert sa.metainfo['img_shape'] == sb.metainfo['img_shape']


def test_pack_is_memory_mapped_and_checked(packed, tmp_path):
    pack = open_pack(str(packed / 'packed' / 'train'))
    entry = next(iter(pack.entries.values()))
    img = pack.get(entry, 'images')
    assert isinstance(img.base, np.memmap) or isinstance(img, np.memmap)
    assert not img.flags.writeable
    with pytest.raises(DataFormatError, match='packed from another annotation file'):
        pack.entry(entry['id'], 'images/not_this_one.png')
    # a missing PNG: one line naming it, no pack left behind
    (packed / 'normals' / entry['file_name']).rename(tmp_path / 'moved.png')
    try:
        with pytest.raises(DataFormatError, match=entry['file_name']):
            pack_split('annotations/nyuv2_train.json', tmp_path / 'out', data_root=str(packed),
                       progress=False)
    finally:
        (tmp_path / 'moved.png').rename(packed / 'normals' / entry['file_name'])
    assert not (tmp_path / 'out').exists()
    proc = run_python('tools/dataset_converters/pack_split.py', '--data-root', packed,
                      '--ann-file', 'annotations/nyuv2_train.json', '--out',
                      packed / 'packed' / 'train', '--no-progress')
    assert proc.returncode == 1 and 'exists already' in proc.stderr
