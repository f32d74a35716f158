# Benchmark-only: ROCK whose predict() returns detections only (no auxiliary outputs resized to
# the image), i.e. what a detection-only deployment runs; same network and weights as ROCK.
_base_ = ['../../configs/rock/ssd_r50_rock_nyuv2.py']

model = dict(predict_aux=False)
