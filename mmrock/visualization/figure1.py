"""Figure 1 of the ROCK supplementary, one grid per image, made of
:class:`ROCKLocalVisualizer`'s panels: (a) the image, (b) the detection baseline's boxes,
(c) ROCK's boxes, (d) the heat-map of the ground-truth scene class (its task map just before
global average pooling), (e) the depth prediction, (f) the surface normals prediction."""
from typing import List, Optional

import mmcv
import numpy as np

from .local_visualizer import (Panel, ROCKLocalVisualizer, depth_range, depth_to_rgb,
                               heatmap_on_image, normals_to_rgb, tile)
from .outputs import dense_prediction

NUM_COLUMNS = 3


def figure1_panels(visualizer: ROCKLocalVisualizer,
                   image: np.ndarray,
                   rock,
                   scene_maps: Optional[np.ndarray] = None,
                   scene_label: Optional[int] = None,
                   baseline=None,
                   score_thr: float = 0.3,
                   name: Optional[str] = None) -> List[Panel]:
    """The Figure-1 panels of one image, in order.

    Args:
        visualizer (ROCKLocalVisualizer): Draws the boxes; its ``dataset_meta`` names the
            detection and scene classes.
        image (np.ndarray): (H, W, 3) uint8 RGB, the original image.
        rock (DetDataSample): The ROCK model's output on the original image
            (``pred_instances``, and when predicted ``pred_scene_scores``, ``pred_depth``,
            ``pred_normals``).
        scene_maps (np.ndarray, optional): (S, H, W) scene task maps on the original image
            (:func:`mmrock.visualization.predict_with_scene_maps`); no scene panel without them.
        scene_label (int, optional): The class whose map is shown: the ground truth. None: the
            top predicted scene (images without labels).
        baseline (DetDataSample, optional): The baseline detector's output; no baseline panel
            without it.
        score_thr (float): Boxes scoring at most this are not drawn. Defaults to 0.3.
        name (str, optional): The image's name, in the first panel's title.

    Returns:
        list[tuple[str, np.ndarray]]: (title, (H, W, 3) uint8 RGB panel) pairs.
    """
    panels = [(f'Image {name}' if name else 'Image', image)]
    for label, sample in (('Baseline', baseline), ('ROCK', rock)):
        if sample is not None:
            drawn, n = visualizer.boxes_panel(image, sample.pred_instances.cpu(), score_thr)
            panels.append((f'{label} detections ({n} with score > {score_thr:.3g})', drawn))
    scores = rock.get('pred_scene_scores')
    scores = None if scores is None else scores.detach().float().cpu().numpy()
    if scene_maps is not None:
        if scene_label is None and scores is not None:
            shown = int(scores.argmax())
            scene_title = f'Scene heat-map: {visualizer.scene_name(shown)} (predicted, ' \
                          f'p={scores[shown]:.2f})'
        else:
            shown = int(scene_label or 0)
            scene_title = f'Scene heat-map: {visualizer.scene_name(shown)} (ground truth)'
            if scores is not None:
                top = int(scores.argmax())
                scene_title += f'\npredicted: {visualizer.scene_name(top)} ' \
                               f'(p={scores[top]:.2f})'
        panels.append((scene_title, heatmap_on_image(image, scene_maps[shown])))
    depth = dense_prediction(rock, 'pred_depth')
    if depth is not None:
        lo, hi = depth_range(depth[0])
        panels.append((f'Depth prediction ({lo:.2f}-{hi:.2f} m)', depth_to_rgb(depth[0], (lo, hi))))
    normals = dense_prediction(rock, 'pred_normals')
    if normals is not None:
        panels.append(('Surface normals prediction', normals_to_rgb(normals)))
    return panels


def save_figure1(path: str, visualizer: ROCKLocalVisualizer, image: np.ndarray, rock,
                 **kwargs) -> List[str]:
    """:func:`figure1_panels` tiled :data:`NUM_COLUMNS` per row and written to an image file.

    Args:
        path (str): The image file to write.
        visualizer (ROCKLocalVisualizer): See :func:`figure1_panels`.
        image (np.ndarray): (H, W, 3) uint8 RGB, the original image.
        rock (DetDataSample): The ROCK model's output on the original image.
        **kwargs: The other arguments of :func:`figure1_panels`.

    Returns:
        list[str]: The panels' titles.
    """
    panels = figure1_panels(visualizer, image, rock, **kwargs)
    rows = [panels[i:i + NUM_COLUMNS] for i in range(0, len(panels), NUM_COLUMNS)]
    mmcv.imwrite(tile(rows)[..., ::-1], path)
    return [title for title, _ in panels]
