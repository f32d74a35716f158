"""Decode-free packs give the same samples as the PNG layout they are written from: loaders
(decoded and undecoded labels), missing labels, and the paper's full training pipeline (bit for
bit, but zoomed normals within FusedGeometry's NORMALS_ATOL)."""
import json
import re
import shutil

import numpy as np
import pytest
from mmdet.registry import DATASETS
from mmengine.config import Config

from mmrock.datasets import fused_pipeline, open_pack, pack_split
from mmrock.datasets.packed_split import pack_problem, reads_pack
from mmrock.datasets.transforms.fused_geometry import NORMALS_ATOL
from mmrock.engine.data_check import leaf_dataset_items
from mmrock_data.converters.errors import DataFormatError
from conftest import REPO, UserCheckout, check_ok, convert_synthetic, run_python

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
    check_ok(
        run_python('tools/dataset_converters/pack_split.py', '--data-root', data, '--ann-file',
                   'annotations/nyuv2_train.json', '--out', data / 'packed' / 'train',
                   '--no-progress'))
    return data


def build(data, pipeline, pack=None):
    cfg = Config.fromfile(PAPER).train_dataloader.dataset
    cfg.update(data_root=f'{data}/', pipeline=pipeline, pack=pack)
    return DATASETS.build(cfg)


def samples(dataset, seeds):
    for seed in seeds:
        np.random.seed(seed)
        yield dataset[seed % len(dataset)]


@pytest.mark.slow
def test_packed_loaders_give_the_png_arrays(packed):
    png_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadMultiTaskAnnotations', with_bbox=True, with_seg=True)
    ]
    for decode in (True, False):
        png_pipeline[1]['decode_dense'] = decode
        if not decode:  # undecoded labels need a FusedGeometry (here of a flip that never flips)
            png_pipeline.append(
                dict(type='FusedGeometry', transforms=[dict(type='MultiTaskRandomFlip', prob=0.)]))
        png = build(packed, png_pipeline)
        pack = build(packed, fused_pipeline(png_pipeline, packed=True), pack='packed/train')
        for i in range(len(png)):
            a, b = png[i], pack[i]
            assert set(a) == set(b) - {'pack_dir'}
            for key in ('img', 'gt_depth', 'gt_normals', 'gt_bboxes_labels', 'gt_seg_map'):
                if key in a:
                    np.testing.assert_array_equal(a[key], b[key], err_msg=key)
                    assert a[key].dtype == b[key].dtype
            np.testing.assert_array_equal(a['gt_bboxes'].numpy(), b['gt_bboxes'].numpy())
            assert a['gt_scene_label'] == b['gt_scene_label']
    assert 'gt_depth' not in png[0] and 'gt_depth' in png[1]  # the dropped depth file
    assert pack[0]['gt_seg_map'].shape == pack[0]['img'].shape[:2]  # the converter's seg maps
    np.testing.assert_array_equal(png[1]['gt_normals'], pack[1]['gt_normals'])  # no mask file


def assert_same_samples(png, pack, num: int = 24) -> None:
    """Sample for sample (same seeds) the same image, boxes, labels and flip; depth equal, the
    normals within NORMALS_ATOL."""
    for a, b in zip(samples(png, range(num)), samples(pack, range(num))):
        np.testing.assert_array_equal(a['inputs'].numpy(), b['inputs'].numpy())
        sa, sb = a['data_samples'], b['data_samples']
        for key in ('bboxes', 'labels'):
            np.testing.assert_array_equal(
                getattr(sa.gt_instances, key).numpy(),
                getattr(sb.gt_instances, key).numpy())
        for key in ('gt_depth', 'gt_normals', 'gt_scene_label'):
            assert (key in sa) == (key in sb)
            if key in sa:
                va, vb = getattr(sa, key), getattr(sb, key)
                va, vb = (va.data, vb.data) if key != 'gt_scene_label' else (va, vb)
                np.testing.assert_allclose(
                    va.numpy(), vb.numpy(), rtol=0, atol=NORMALS_ATOL if key == 'gt_normals' else 0)
        assert sa.metainfo['flip'] == sb.metainfo['flip']
        assert sa.metainfo['img_shape'] == sb.metainfo['img_shape']


@pytest.mark.slow
def test_packed_paper_pipeline_gives_the_same_samples(packed):
    base = Config.fromfile(PAPER).train_pipeline
    assert_same_samples(
        build(packed, base), build(packed, fused_pipeline(base, packed=True), pack='packed/train'))


@pytest.mark.slow
def test_paper_config_trains_from_the_packs_the_converter_writes(tiny_nyuv2_val):
    """The README's conversion (val split, packs by default), then the paper config as it is:
    it reads the train pack, and gives the PNG pipeline's samples."""
    cfg = Config.fromfile(PAPER)
    dataset = cfg.train_dataloader.dataset
    assert dataset.pack == 'packed/nyuv2_train/'
    assert dataset.pipeline == fused_pipeline(cfg.train_pipeline, packed=True)
    assert (tiny_nyuv2_val / 'packed' / 'nyuv2_val' / 'index.json').is_file()
    paper = DATASETS.build(dict(dataset, data_root=f'{tiny_nyuv2_val}/'))
    assert_same_samples(build(tiny_nyuv2_val, cfg.train_pipeline), paper)
    for name in ('ssd_r50_rock_nyuv2', 'ssd_r50_nyuv2', 'ssd_r50_flatmtl_nyuv2',
                 'ssd_r50_rock_1xb8-30k_nyuv2-795'):  # every pack they read is there
        cfg = Config.fromfile(str(REPO / 'configs' / 'rock' / f'{name}.py'))
        for _, ds in leaf_dataset_items(cfg.train_dataloader.dataset):
            ds.data_root = f'{tiny_nyuv2_val}/'
            assert reads_pack(ds) and pack_problem(ds) is None, name


@pytest.mark.slow
def test_training_without_the_pack_is_one_line(tmp_path, tiny_raw):
    """Data converted with --no-pack: tools/train.py on the paper config stops with one line
    giving the command that writes the pack (and the PNG config); that command then works."""
    data = convert_synthetic(tiny_raw, tmp_path / 'nyuv2', val_split=True, pack=False)
    assert not (data / 'packed').exists()
    checkout = UserCheckout(tmp_path / 'checkout', data)
    proc = checkout.run('tools/train.py', 'configs/rock/ssd_r50_rock_nyuv2.py')
    assert proc.returncode == 1
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith('Pack not usable: data/nyuv2/packed/nyuv2_train/index.json: no pack '
                           'of data/nyuv2/annotations/nyuv2_train.json. ')
    assert 'configs/rock/ssd_r50_rock_nyuv2_png.py' in line
    command = re.search(r'`python (tools/dataset_converters/pack_split.py [^`]+)`', line)[1]
    check_ok(checkout.run(*command.split()))
    cfg = Config.fromfile(PAPER).train_dataloader.dataset
    assert pack_problem(dict(cfg, data_root=f'{data}/')) is None
    png = Config.fromfile(str(REPO / 'configs/rock/ssd_r50_rock_nyuv2_png.py'))
    assert not reads_pack(png.train_dataloader.dataset)  # trains from the PNGs


@pytest.mark.slow
def test_pack_of_other_images_is_refused(packed, tmp_path):
    ann = json.loads((packed / 'annotations' / 'nyuv2_train.json').read_text())
    ann['images'][0]['id'] = 999
    other = tmp_path / 'other.json'
    other.write_text(json.dumps(ann))
    problem = pack_problem(
        dict(
            data_root=f'{packed}/',
            ann_file=str(other),
            pack='packed/train',
            pipeline=[dict(type='LoadPackedImage')]))
    assert problem == (f'{packed}/packed/train: holds {len(ann["images"]) - 1} of the '
                       f'{len(ann["images"])} images of {other} (packed from another '
                       'conversion?)')


@pytest.mark.slow
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
            pack_split(
                'annotations/nyuv2_train.json',
                tmp_path / 'out',
                data_root=str(packed),
                progress=False)
    finally:
        (tmp_path / 'moved.png').rename(packed / 'normals' / entry['file_name'])
    assert not (tmp_path / 'out').exists()
    proc = run_python('tools/dataset_converters/pack_split.py', '--data-root', packed, '--ann-file',
                      'annotations/nyuv2_train.json', '--out', packed / 'packed' / 'train',
                      '--no-progress')
    assert proc.returncode == 1 and 'exists already' in proc.stderr
