# ROCK (ssd_r50_rock_nyuv2.py) trained from the PNGs (decoded every sample) instead of the split's
# pack: the same samples for a given seed, ~4.7x slower per worker, no packed/ folder needed
# (e.g. data converted with --no-pack).
_base_ = ['./ssd_r50_rock_nyuv2.py']

train_dataloader = dict(dataset=dict(pack=None, pipeline=_base_.train_pipeline))
