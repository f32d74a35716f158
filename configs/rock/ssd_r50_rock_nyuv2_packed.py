# ROCK (ssd_r50_rock_nyuv2.py) with its training data read as raw arrays, no PNG to decompress:
# the train split's pack (arrays memory-mapped, mmrock/datasets/packed_split.py) and the geometric
# augmentation fused into one resampling per map (FusedGeometry). The same samples for a given
# seed as the PNG pipeline, bit for bit but for the zoomed normals' last float32 bits (within
# 4e-7: tests/test_packed_split.py, tests/test_fused_geometry.py); about 4.7x the samples per
# second per worker (benchmarks/RESULTS.md, section 4). The pack is written once, after the
# conversion:
#   python tools/dataset_converters/pack_split.py --data-root data/nyuv2 \
#       --ann-file annotations/nyuv2_train.json --out data/nyuv2/packed/nyuv2_train
_base_ = ['./ssd_r50_rock_nyuv2.py']
from mmrock.datasets import fused_pipeline

train_dataloader = dict(
    dataset=dict(
        pack='packed/nyuv2_train/',
        pipeline=fused_pipeline(_base_.train_pipeline, packed=True)))
