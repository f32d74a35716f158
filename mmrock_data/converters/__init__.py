"""Dataset converters: the official NYUv2 files, or your own COCO json + depth images, ->
mmrock's COCO-style folder; and a synthetic NYUv2 written in the official layout (the project's
embedded demo dataset)."""
from .coco_rgbd import convert_coco_rgbd
from .errors import ConversionError, DataFormatError
from .nyuv2_mat import (NYUv2ConversionError, NYUv2FormatError, NYUv2Mat, convert_nyuv2,
                        decode_rgb_normals, encode_depth_mm, encode_normals, instance_boxes,
                        kinect_intrinsics, normals_from_depth, read_splits, read_val_scenes)
from .synthetic_rooms import (Camera, NYUv2MatWriter, Part, Room, Thing, default_names,
                              make_synthetic_nyuv2, make_thing, render, render_image, sample_room,
                              write_normals_png, write_splits_mat)

__all__ = [
    'convert_coco_rgbd', 'ConversionError', 'DataFormatError', 'NYUv2ConversionError',
    'NYUv2FormatError', 'NYUv2Mat', 'convert_nyuv2', 'decode_rgb_normals', 'encode_depth_mm',
    'encode_normals', 'instance_boxes', 'kinect_intrinsics', 'normals_from_depth', 'read_splits',
    'read_val_scenes', 'Camera', 'NYUv2MatWriter', 'Part', 'Room', 'Thing', 'default_names',
    'make_synthetic_nyuv2', 'make_thing', 'render', 'render_image', 'sample_room',
    'write_normals_png', 'write_splits_mat'
]
