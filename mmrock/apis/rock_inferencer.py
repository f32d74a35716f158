"""mmdet's ``DetInferencer`` that also returns ROCK's auxiliary outputs."""
import os
import os.path as osp
from typing import Dict, Optional

import mmcv
import mmengine
import numpy as np
import torch
from mmdet.apis import DetInferencer
from mmdet.structures import DetDataSample
from mmengine.structures import PixelData

from mmrock.utils import checkpoint_loading_for
from mmrock.visualization import (capture_task_maps, dense_prediction, depth_range, depth_to_rgb,
                                  normals_to_rgb, seg_prediction, to_original)
from .model_config import complete_scene_head, load_model_config


class ROCKInferencer(DetInferencer):
    """:class:`DetInferencer` (same arguments and call) for ROCK models.

    mmdet's ``pred2dict`` keeps boxes and masks only; this one adds, per image:

    - ``scene_scores`` (list of S floats, the scene probabilities), ``scene_label`` (the top
      class) and ``scene_class`` (its name, when the model's metadata has ``scene_classes``);
    - ``presence_scores`` (list of K floats: each detection class's presence probability) for a
      model with a :class:`~mmrock.models.heads.PresenceHead`;
    - the depth (1, H, W) metres and normals (3, H, W) unit vectors predicted, brought to the
      original image (bilinear): as arrays ``depth`` / ``normals`` when nothing is saved, else
      written to ``out_dir/preds/<name>_{depth,normals}.npy`` (float32) and
      ``<name>_{depth,normals}.png`` (colour images) next to ``<name>.json``, their paths in
      ``depth_path``, ``depth_image_path``, ``normals_path``, ``normals_image_path``;
    - for a model with a :class:`~mmrock.models.heads.SegmentationHead`, the per-cell classes
      as a label map (H, W) on the original image (:func:`seg_prediction`: 0..K-1 the classes,
      K the background): the array ``seg`` when nothing is saved, else
      ``out_dir/preds/<name>_seg.png`` (the labels as pixel values) in ``seg_path``.

    The forward pass also keeps the top predicted scene's task map (``pred_scene_map``, on the
    original image), which the config's :class:`ROCKLocalVisualizer` draws as a heat-map.

    The model is built as the tools build it: ``SceneHead.num_classes`` left unset comes from
    the checkpoint's metadata or the config's dataset (:func:`complete_scene_head`), and the
    checkpoint loads with ``weights_only=True`` unless the config sets
    ``allow_pickled_checkpoints = True`` (or the call runs inside
    :func:`mmrock.utils.pickled_checkpoint_loading`).

    Args:
        model (str | Config | dict, optional): Config file, ``Config``, dict or model-zoo
            name, as :class:`DetInferencer` takes it. Defaults to None.
        weights (str, optional): Checkpoint path or URL. Defaults to None.
        *args, **kwargs: The other arguments of :class:`DetInferencer` (``device``,
            ``scope``, ``palette``, ``show_progress``).
    """

    def __init__(self, model=None, weights: Optional[str] = None, *args, **kwargs) -> None:
        cfg = load_model_config(model)
        with checkpoint_loading_for(cfg or {}):
            if cfg is not None:
                complete_scene_head(cfg, weights)
            super().__init__(model if cfg is None else cfg, weights, *args, **kwargs)

    @torch.no_grad()
    def forward(self, inputs: dict, **kwargs) -> list:
        """``model.test_step`` plus the top predicted scene's task map.

        Args:
            inputs (dict): A batch, as the inferencer's collate gives it.
            **kwargs: Unused.

        Returns:
            list[DetDataSample]: The predictions, each with ``pred_scene_map`` (1, H, W) on
            the original image when the model has a scene task.
        """
        with capture_task_maps(self.model) as maps:
            preds = self.model.test_step(inputs)
        scene = maps.get('scene')
        if scene is not None:
            for pred, sample_maps in zip(preds, scene):
                top = int(pred.pred_scene_scores.argmax())
                pred.pred_scene_map = PixelData(
                    data=torch.from_numpy(
                        to_original(sample_maps[top:top + 1], pred, from_batch_grid=True)))
        return preds

    def _output_stem(self, data_sample: DetDataSample) -> str:
        """The file name stem of a prediction, as ``DetInferencer.pred2dict`` names it."""
        if 'img_path' in data_sample:
            return osp.splitext(osp.basename(data_sample.img_path))[0]
        stem = str(self.num_predicted_imgs)
        self.num_predicted_imgs += 1
        return stem

    def pred2dict(self, data_sample: DetDataSample, pred_out_dir: str = '') -> Dict:
        """mmdet's prediction dict plus the scene, class presence, depth, normals and
        segmentation (see the class).

        Args:
            data_sample (DetDataSample): One prediction.
            pred_out_dir (str): Where the files go; '' to keep the maps in the dict. Defaults
                to ''.

        Returns:
            dict: The JSON-serialisable prediction (the arrays ``depth`` (1, H, W),
            ``normals`` (3, H, W) and ``seg`` (H, W) when nothing is saved).
        """
        result = super().pred2dict(data_sample, '')
        if 'pred_scene_scores' in data_sample:
            scores = data_sample.pred_scene_scores.float().cpu()
            top = int(scores.argmax())
            result.update(scene_scores=scores.tolist(), scene_label=top)
            names = (self.model.dataset_meta or {}).get('scene_classes')
            if names is not None:
                result['scene_class'] = names[top]
        if 'pred_presence_scores' in data_sample:  # per detection class, 0..1
            result['presence_scores'] = data_sample.pred_presence_scores.float().cpu().tolist()
        maps = {key: dense_prediction(data_sample, f'pred_{key}') for key in ('depth', 'normals')}
        maps = {key: value for key, value in maps.items() if value is not None}
        if 'normals' in maps:  # unit vectors again after the bilinear resizing
            norm = np.linalg.norm(maps['normals'], axis=0, keepdims=True)
            maps['normals'] = maps['normals'] / np.maximum(norm, 1e-6)
        seg = seg_prediction(data_sample)
        if not pred_out_dir:
            result.update(maps)
            if seg is not None:
                result['seg'] = seg
            return result
        out_dir = osp.join(pred_out_dir, 'preds')
        os.makedirs(out_dir, exist_ok=True)
        stem = osp.join(out_dir, self._output_stem(data_sample))
        for key, array in maps.items():
            image = depth_to_rgb(array[0], depth_range(array[0])) if key == 'depth' \
                else normals_to_rgb(array)
            np.save(f'{stem}_{key}.npy', array)
            mmcv.imwrite(image[..., ::-1], f'{stem}_{key}.png')
            result.update({
                f'{key}_path': f'{stem}_{key}.npy',
                f'{key}_image_path': f'{stem}_{key}.png'
            })
        if seg is not None:  # lossless: the labels are the pixel values
            mmcv.imwrite(seg, f'{stem}_seg.png')
            result['seg_path'] = f'{stem}_seg.png'
        mmengine.dump(result, f'{stem}.json')
        return result
