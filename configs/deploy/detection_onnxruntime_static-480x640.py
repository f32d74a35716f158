# ONNX Runtime, fixed 480x640 input (H x W: the NYUv2 models' input size), batch 1.
_base_ = ['./_base_/detection_onnxruntime.py']
onnx_config = dict(input_shape=[640, 480])  # (W, H), mmdeploy's order
