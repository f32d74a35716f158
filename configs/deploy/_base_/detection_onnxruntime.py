# mmdeploy deploy config (static-shape base): an mmrock detector to ONNX Runtime through mmdeploy's
# detection task. Convert with tools/deployment/mmdeploy.py (see docs/deploy.md).
# mmrock.deploy registers the rewrite that exports ROCKDetector (mmdeploy only knows mmdet's
# single- and two-stage detector classes).
custom_imports = dict(imports=['mmrock', 'mmrock.deploy'], allow_failed_imports=False)
onnx_config = dict(
    type='onnx',
    export_params=True,
    keep_initializers_as_inputs=False,
    opset_version=11,
    save_file='end2end.onnx',
    input_names=['input'],
    output_names=['dets', 'labels'],
    input_shape=None,
    # mmdeploy's graph optimiser needs its TorchScript extension, which its wheel lacks
    optimize=False)
codebase_config = dict(
    type='mmdet',
    task='ObjectDetection',
    model_type='end2end',
    # NMS in the graph; the model's test_cfg (score_thr, nms.iou_threshold, max_per_img) wins
    # over score_threshold, iou_threshold and keep_top_k; pre_top_k=-1: every candidate above
    # score_thr goes to NMS, as in PyTorch (a cap would make the two disagree)
    post_processing=dict(
        score_threshold=0.05,
        confidence_threshold=0.005,
        iou_threshold=0.5,
        max_output_boxes_per_class=200,
        pre_top_k=-1,
        keep_top_k=100,
        background_label_id=-1))
backend_config = dict(type='onnxruntime')
# Merged into the model's test_cfg by tools/deployment/mmdeploy.py. nms_pre=-1: no per-level
# top-k before NMS, because mmdeploy 1.3.1 ranks a softmax head's (SSD's) anchors for it without
# the last class (open-mmlab/mmdeploy#2787) and so loses that class; pre_top_k above bounds NMS.
model_test_cfg = dict(nms_pre=-1)
