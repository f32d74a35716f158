# ROCK at demo scale with the scene task only (the other auxiliary heads and their decoders
# removed): which task the detector gains from.
_base_ = ['./ssd_r18_rock_demo.py']

model = dict(rock=dict(aux_heads=dict(_delete_=True, scene=_base_.model.rock.aux_heads.scene)))
