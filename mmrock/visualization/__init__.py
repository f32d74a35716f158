"""Drawing ROCK's outputs: :class:`ROCKLocalVisualizer` (registered in mmdet's VISUALIZERS, used
through the config's ``visualizer``), the Figure-1 grids of the ROCK supplementary, and the scene
task maps taken in the model's own forward pass. Imported by ``import mmrock`` so that configs
can name the visualiser: it draws with OpenCV and mmdet's box drawing, so this adds no heavy
import (matplotlib is already loaded by mmdet)."""
from .figure1 import figure1_panels, save_figure1
from .local_visualizer import (ROCKLocalVisualizer, depth_range, depth_to_rgb, heatmap_on_image,
                               normals_to_rgb, tile)
from .outputs import (capture_task_maps, dense_prediction, predict_with_scene_maps, seg_prediction,
                      to_original)

__all__ = [
    'ROCKLocalVisualizer', 'figure1_panels', 'save_figure1', 'depth_range', 'depth_to_rgb',
    'heatmap_on_image', 'normals_to_rgb', 'tile', 'capture_task_maps', 'dense_prediction',
    'predict_with_scene_maps', 'seg_prediction', 'to_original'
]
