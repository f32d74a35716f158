"""tools/dataset_converters/coco_rgbd.py on generated inputs, its bad inputs (one line, no output
folder), and MultiTaskCocoDataset reading what it wrote."""
import importlib.util
import json
import os

import numpy as np
import pytest
from PIL import Image

from mmrock_data.converters import decode_rgb_normals
from conftest import REPO
from rgbd_factory import CLASSES, INTRINSICS, SCENES, make_rgbd_source

spec = importlib.util.spec_from_file_location(
    'coco_rgbd_tool', REPO / 'tools' / 'dataset_converters' / 'coco_rgbd.py')
tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tool)


@pytest.fixture
def source(tmp_path):
    src = tmp_path / 'src'
    coco = make_rgbd_source(src, num=3)
    return src, coco


def argv(src, out, *extra, scale='1000'):
    return [
        '--coco-json',
        str(src / 'train.json'), '--images',
        str(src / 'images'), '--depth',
        str(src / 'depth'), '--depth-scale', scale, '--out',
        str(out), '--no-progress', *extra
    ]


def intrinsics_args():
    return ['--intrinsics', *map(str, INTRINSICS)]


def test_converts_generated_inputs(source, tmp_path, capsys):
    src, coco = source
    out = tmp_path / 'out'
    assert tool.main(argv(src, out, *intrinsics_args(), '--scenes', str(src / 'scenes.csv'))) == 0
    assert capsys.readouterr().out.splitlines() == [
        'train.json: 3 images, 3 boxes', f'written: {out}'
    ]
    assert sorted(os.listdir(tmp_path)) == ['out', 'src']  # no temporary folder left
    ann = json.loads((out / 'annotations' / 'train.json').read_text())
    assert ann['scene_classes'] == sorted(SCENES) and ann['annotations'] == coco['annotations']
    for img, entry in zip(coco['images'], ann['images']):
        assert entry == dict(
            img,
            depth_file=img['file_name'],
            normal_file=img['file_name'],
            normal_mask_file=img['file_name'],
            scene=SCENES[(img['id'] - 100) % 2],
            scene_id=sorted(SCENES).index(SCENES[(img['id'] - 100) % 2]))
        name = img['file_name']
        assert (out / 'images' / name).read_bytes() == (src / 'images' / name).read_bytes()
        raw = np.asarray(Image.open(src / 'depth' / name))
        np.testing.assert_array_equal(np.asarray(Image.open(out / 'depth' / name)), raw)
        # normals computed from the depth: the slanted wall's plane normal, facing the camera
        normals = decode_rgb_normals(np.asarray(Image.open(out / 'normals' / name)))
        mask = np.asarray(Image.open(out / 'normal_masks' / name)) > 0
        assert mask.sum() > 1000 and not normals[~mask].any()
        assert (normals[mask][:, 2] < 0).all()

    from mmrock.datasets import MultiTaskCocoDataset
    dataset = MultiTaskCocoDataset(data_root=str(out), ann_file='annotations/train.json')
    assert dataset.metainfo['classes'] == CLASSES
    assert dataset.metainfo['scene_classes'] == tuple(sorted(SCENES))
    info = dataset[0]
    assert info['depth_path'] == str(out / 'depth' / '000.png')
    assert info['normal_mask_path'] == str(out / 'normal_masks' / '000.png')
    assert info['scene_label'] == sorted(SCENES).index('lab')


def test_normals_given_as_files(source, tmp_path):
    src, _ = source
    (src / 'normals').mkdir()
    for name in os.listdir(src / 'images'):
        png = np.full((64, 80, 3), (128, 100, 20), np.uint8)
        png[:5] = 128  # invalid rows
        Image.fromarray(png).save(src / 'normals' / name)
    out = tmp_path / 'out'
    assert tool.main(argv(src, out, '--normals', str(src / 'normals'))) == 0
    mask = np.asarray(Image.open(out / 'normal_masks' / '000.png')) > 0
    assert not mask[:5].any() and mask[5:].all()
    ann = json.loads((out / 'annotations' / 'train.json').read_text())
    assert 'scene_id' not in ann['images'][0] and 'scene_classes' not in ann


def bad_depth_size(src):
    Image.fromarray(np.ones((30, 40), np.uint16)).save(src / 'depth' / '001.png')
    return str(src / 'depth' / '001.png'), 'depth is 40x30, its image 80x64 (W x H)'


def missing_depth(src):
    os.remove(src / 'depth' / '002.png')
    return str(src / 'depth' / '002.png'), 'depth image not found'


def unknown_csv_id(src):
    with open(src / 'scenes.csv', 'a') as fh:
        fh.write('999,kitchen\n')
    return str(src / 'scenes.csv'), 'line 5: unknown image id 999 (not in the COCO json files)'


def eight_bit_depth(src):
    """An 8-bit PNG among the 16-bit millimetres: 75..197 would be read as 0.08..0.2 m."""
    Image.fromarray(np.full((64, 80), 150, np.uint8)).save(src / 'depth' / '001.png')
    return str(src / 'depth' / '001.png'), ('depth image is 8-bit, expected 16-bit '
                                            'single-channel (1000 units per metre) (pass '
                                            '--allow-8bit-depth if its 8-bit values are in '
                                            'those units)')


def unknown_category(src):
    coco = json.loads((src / 'train.json').read_text())
    coco['annotations'][1]['category_id'] = 7
    (src / 'train.json').write_text(json.dumps(coco))
    return str(src / 'train.json'), ("annotation 2 of image 101: category_id 7 is not among the "
                                     "categories' ids (1, 2)")


def unknown_annotation_image(src):
    coco = json.loads((src / 'train.json').read_text())
    coco['annotations'][0]['image_id'] = 7
    (src / 'train.json').write_text(json.dumps(coco))
    return str(src / 'train.json'), 'annotation 1 of image 7: image_id is not among the images'


def exif_rotated_jpeg(src):
    """A JPEG whose EXIF orientation makes OpenCV rotate it: PIL's size is the stored one."""
    coco = json.loads((src / 'train.json').read_text())
    coco['images'][2]['file_name'] = '002.jpg'
    (src / 'train.json').write_text(json.dumps(coco))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    Image.open(src / 'images' / '002.png').convert('RGB').save(
        src / 'images' / '002.jpg', exif=exif)
    return str(src / 'images' / '002.jpg'), (
        'EXIF orientation 6: OpenCV, which mmdet loads images with, rotates or mirrors it on '
        'reading, so its pixels would no longer match its size, boxes and depth; store it '
        'upright without the tag (its boxes and depth to match), or remove the tag if they '
        'refer to the stored pixels')


@pytest.mark.parametrize('spoil', [
    bad_depth_size, missing_depth, unknown_csv_id, eight_bit_depth, unknown_category,
    unknown_annotation_image, exif_rotated_jpeg
])
def test_bad_input_gives_one_line_and_no_output(spoil, source, tmp_path, capsys):
    src, _ = source
    path, problem = spoil(src)
    out = tmp_path / 'out'
    assert tool.main(argv(src, out, *intrinsics_args(), '--scenes', str(src / 'scenes.csv'))) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f'error: {path}: {problem}']
    assert sorted(os.listdir(tmp_path)) == ['src']  # no output, no temporary folder


def test_8bit_depth_when_allowed(source, tmp_path):
    """--allow-8bit-depth: the 8-bit values are read in --depth-scale units."""
    src, _ = source
    Image.fromarray(np.full((64, 80), 150, np.uint8)).save(src / 'depth' / '001.png')
    out = tmp_path / 'out'
    assert tool.main(argv(src, out, *intrinsics_args(), '--allow-8bit-depth', scale='100')) == 0
    assert (np.asarray(Image.open(out / 'depth' / '001.png')) == 1500).all()  # mm


@pytest.mark.parametrize('scale', ['0', '-1000', 'nan'])
def test_bad_depth_scale(scale, source, tmp_path, capsys):
    src, _ = source
    assert tool.main(argv(src, tmp_path / 'out', *intrinsics_args(), scale=scale)) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f'error: --depth-scale {float(scale)!r}: must be a '
                                               'positive number of depth units per metre')
    assert sorted(os.listdir(tmp_path)) == ['src']


def test_normals_need_a_source(source, tmp_path, capsys):
    src, _ = source
    assert tool.main(argv(src, tmp_path / 'out')) == 1
    assert capsys.readouterr().err.strip() == (
        'error: normals: give --normals DIR, or --intrinsics FX FY CX CY (pixels, fx, fy > 0) to '
        'compute them from the depth')


def test_dataset_refuses_wrongly_sized_depth_file(source, tmp_path):
    """A depth file replaced after conversion by one of another size: the loader names it."""
    src, _ = source
    out = tmp_path / 'out'
    assert tool.main(argv(src, out, *intrinsics_args())) == 0
    Image.fromarray(np.ones((30, 40), np.uint16)).save(out / 'depth' / '001.png')
    from mmrock.datasets import MultiTaskCocoDataset, multitask_pipeline
    from mmrock_data.converters import NYUv2FormatError
    pipeline = multitask_pipeline([
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'),
        dict(type='Resize', scale=(40, 32)),
        dict(type='PackDetInputs')
    ])
    dataset = MultiTaskCocoDataset(
        data_root=str(out), ann_file='annotations/train.json', pipeline=pipeline)
    assert dataset[0]['data_samples'].gt_depth.shape == (32, 40)
    with pytest.raises(NYUv2FormatError) as err:
        dataset[1]
    assert str(err.value) == (f'{out / "depth" / "001.png"}: depth PNG is 40x30, its image 80x64 '
                              '(W x H)')


def test_scene_id_out_of_range_is_an_error(source, tmp_path):
    src, _ = source
    out = tmp_path / 'out'
    assert tool.main(argv(src, out, *intrinsics_args(), '--scenes', str(src / 'scenes.csv'))) == 0
    from mmrock.datasets import MultiTaskCocoDataset
    from mmrock_data.converters import NYUv2FormatError
    with pytest.raises(
            NYUv2FormatError, match=r"scene_id 1 of image 101 is not in 0\.\.0 \(1 "
            r'scene_classes\)'):
        MultiTaskCocoDataset(
            data_root=str(out),
            ann_file='annotations/train.json',
            metainfo=dict(scene_classes=('lab', )))


def test_worker_processes_write_the_same_files(source, tmp_path):
    src, _ = source
    trees = {}
    for nproc in ('1', '3'):
        out = tmp_path / f'out{nproc}'
        assert tool.main(
            argv(src, out, *intrinsics_args(), '--scenes', str(src / 'scenes.csv'), '--nproc',
                 nproc)) == 0
        trees[nproc] = {
            str(p.relative_to(out)): p.read_bytes()
            for p in sorted(out.rglob('*')) if p.is_file()
        }
    assert len(trees['1']) == 3 * 4 + 1 and trees['1'] == trees['3']
