# ROCK started near identity: each decoder's BN scale initialised to 0.1 instead of 1, so that
# the randomly initialised decoders add a small residual to C5 at first and the detector starts
# from (almost) the plain SSD features (docs/design.md, "Starting ROCK near identity"). The
# fusion is the paper's plain sum; only the initial value of 3 BN weight vectors changes.
_base_ = ['./ssd_r50_rock_nyuv2.py']

model = dict(rock=dict(decoder_norm_init=0.1))
