# ROCK at demo scale started near identity (decoder BN scale 0.1 at initialisation; see
# ssd_r50_rock-near-identity_1xb8-40k_nyuv2.py): the initialisation's row of the ablation.
_base_ = ['./ssd_r18_rock_demo.py']

model = dict(rock=dict(decoder_norm_init=0.1))
