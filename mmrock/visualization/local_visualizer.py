"""mmdet's detection visualiser plus ROCK's auxiliary outputs: depth, surface normals and scene,
for the ground truth and the prediction, drawn beside the boxes.

Used wherever mmdet draws a data sample through the config's ``visualizer``: the visualisation
hook (``tools/test.py --show / --show-dir``, validation images sent to TensorBoard / W&B),
``DetInferencer`` and ``browse_dataset``. The panels are drawn with OpenCV and the boxes with
mmdet's own code, so registering the class at ``import mmrock`` adds no dependency.
"""
from typing import List, Optional, Sequence, Tuple

import cv2
import mmcv
import numpy as np
from mmdet.registry import VISUALIZERS
from mmdet.structures import DetDataSample
from mmdet.visualization import DetLocalVisualizer
from mmengine.dist import master_only

# (title, (H, W, 3) uint8 RGB panel or None for an empty cell)
Panel = Tuple[str, Optional[np.ndarray]]
# The columns of the grid, in order; a column is kept when some row has a panel in it.
COLUMNS = ('boxes', 'scene', 'depth', 'normals')
AUX_FIELDS = ('pred_depth', 'pred_normals', 'pred_scene_scores', 'pred_scene_map', 'gt_depth',
              'gt_normals', 'gt_scene_label')
TITLE_FONT = cv2.FONT_HERSHEY_SIMPLEX
WHITE = 255


def as_float_array(value) -> np.ndarray:
    """A tensor / array / :obj:`PixelData` (its ``data``) as a float32 numpy array.

    Args:
        value (Tensor | np.ndarray | PixelData): The value.

    Returns:
        np.ndarray: Float32 array of the same shape.
    """
    value = getattr(value, 'data', value)
    if hasattr(value, 'detach'):
        value = value.detach().float().cpu().numpy()
    return np.asarray(value, dtype=np.float32)


def resize_maps(maps: np.ndarray, hw: Tuple[int, int], nearest: bool = False) -> np.ndarray:
    """Resize maps to an image's size.

    Args:
        maps (np.ndarray): Maps of shape (C, h, w).
        hw (tuple[int, int]): (H, W) of the image.
        nearest (bool): Nearest neighbour (ground truth, where 0 means invalid and must not be
            blended into its neighbours) instead of bilinear. Defaults to False.

    Returns:
        np.ndarray: Maps of shape (C, H, W).
    """
    if tuple(maps.shape[1:]) == tuple(hw):
        return maps
    mode = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    return np.stack([cv2.resize(m, (hw[1], hw[0]), interpolation=mode) for m in maps])


def depth_range(*depths: Optional[np.ndarray]) -> Tuple[float, float]:
    """The range of the valid (finite, > 0) pixels of depth maps; a shared range makes the
    ground-truth and predicted depth panels comparable.

    Args:
        *depths (np.ndarray, optional): (H, W) depth maps in metres; None ones are skipped.

    Returns:
        tuple[float, float]: (min, max) in metres; (0, 1) when no pixel is valid.
    """
    valid = [d[np.isfinite(d) & (d > 0)] for d in depths if d is not None]
    valid = np.concatenate([v.ravel() for v in valid]) if valid else np.zeros(0)
    if valid.size == 0:
        return 0., 1.
    return float(valid.min()), float(valid.max())


def depth_to_rgb(depth: np.ndarray, vrange: Tuple[float, float]) -> np.ndarray:
    """Colour a depth map (viridis), invalid pixels black.

    Args:
        depth (np.ndarray): Depth of shape (H, W), metres.
        vrange (tuple[float, float]): (min, max) depth of the colour scale.

    Returns:
        np.ndarray: (H, W, 3) uint8 RGB.
    """
    lo, hi = vrange
    valid = np.isfinite(depth) & (depth > 0)
    scaled = np.clip((np.nan_to_num(depth) - lo) / max(hi - lo, 1e-6), 0., 1.)
    rgb = cv2.applyColorMap((scaled * 255).astype(np.uint8), cv2.COLORMAP_VIRIDIS)[..., ::-1]
    return np.where(valid[..., None], rgb, 0).astype(np.uint8)


def normals_to_rgb(normals: np.ndarray) -> np.ndarray:
    """Colour surface normals as RGB = 255 (n / |n| + 1) / 2; zero vectors (invalid ground
    truth) black.

    Args:
        normals (np.ndarray): Normals of shape (3, H, W).

    Returns:
        np.ndarray: (H, W, 3) uint8 RGB.
    """
    norm = np.linalg.norm(normals, axis=0, keepdims=True)
    unit = normals / np.maximum(norm, 1e-6)
    rgb = np.clip((unit.transpose(1, 2, 0) + 1.) / 2. * 255. + 0.5, 0, 255).astype(np.uint8)
    return np.where((norm[0] > 1e-6)[..., None], rgb, 0).astype(np.uint8)


def heatmap_on_image(image: np.ndarray, heatmap: np.ndarray) -> np.ndarray:
    """A map over the grey image, in jet colours scaled to the map's own range.

    Args:
        image (np.ndarray): (H, W, 3) RGB image.
        heatmap (np.ndarray): Map of shape (H, W).

    Returns:
        np.ndarray: (H, W, 3) uint8 RGB.
    """
    lo, hi = float(heatmap.min()), float(heatmap.max())
    scaled = ((heatmap - lo) / max(hi - lo, 1e-6) * 255).astype(np.uint8)
    jet = cv2.applyColorMap(scaled, cv2.COLORMAP_JET)[..., ::-1].astype(np.float32)
    grey = image.astype(np.float32).mean(axis=2, keepdims=True)
    return (0.45 * grey + 0.55 * jet).clip(0, 255).astype(np.uint8)


def _titled(title: str, panel: Optional[np.ndarray], hw: Tuple[int, int], lines: int) -> np.ndarray:
    """The panel (white when None) under a white strip of ``lines`` text lines, the title's
    lines written in black, each shrunk to fit the width."""
    h, w = hw
    line_h = max(14, round(w / 28))
    strip = np.full((line_h * lines + 4, w, 3), WHITE, np.uint8)
    for i, text in enumerate(title.split('\n')):
        scale = line_h / 30.
        width = cv2.getTextSize(text, TITLE_FONT, scale, 1)[0][0]
        if width > w - 4:
            scale *= (w - 4) / width
        cv2.putText(strip, text, (2, line_h * (i + 1) - 3), TITLE_FONT, scale, (0, 0, 0), 1,
                    cv2.LINE_AA)
    body = np.full((h, w, 3), WHITE, np.uint8) if panel is None else panel
    return np.concatenate([strip, body], axis=0)


def tile(rows: Sequence[Sequence[Panel]], gap: int = 4) -> np.ndarray:
    """Rows of titled panels as one image; rows shorter than the longest are padded.

    Args:
        rows (Sequence[Sequence[Panel]]): ``(title, panel)`` rows, every panel (H, W, 3) uint8
            RGB of one size; a ``None`` panel is an empty (white) cell.
        gap (int): Pixels between cells. Defaults to 4.

    Returns:
        np.ndarray: (H', W', 3) uint8 RGB.
    """
    cells = [p for row in rows for _, p in row if p is not None]
    if not cells:
        raise ValueError('nothing to draw: every panel is empty')
    hw = cells[0].shape[:2]
    cols = max(len(row) for row in rows)
    lines = max(title.count('\n') + 1 for row in rows for title, _ in row)
    drawn_rows = []
    for row in rows:
        row = list(row) + [('', None)] * (cols - len(row))
        titled = [_titled(t, p, hw, lines) for t, p in row]
        sep = np.full((titled[0].shape[0], gap, 3), WHITE, np.uint8)
        drawn_rows.append(np.concatenate(sum([[t, sep] for t in titled], [])[:-1], axis=1))
    sep = np.full((gap, drawn_rows[0].shape[1], 3), WHITE, np.uint8)
    return np.concatenate(sum([[r, sep] for r in drawn_rows], [])[:-1], axis=0)


def has_aux_outputs(data_sample: Optional[DetDataSample]) -> bool:
    """Whether a sample carries any ROCK ground truth or prediction.

    Args:
        data_sample (DetDataSample, optional): The sample.

    Returns:
        bool: True when it has one of :data:`AUX_FIELDS`.
    """
    return data_sample is not None and any(f in data_sample for f in AUX_FIELDS)


@VISUALIZERS.register_module()
class ROCKLocalVisualizer(DetLocalVisualizer):
    """:class:`DetLocalVisualizer` that also draws ROCK's auxiliary tasks.

    For a data sample with ROCK fields, :meth:`add_datasample` draws one row for the ground
    truth and one for the prediction, with columns: the boxes (titled, on a second line, with the
    scene: the label,
    or the top predicted class and its probability), the scene heat-map (``pred_scene_map``,
    written by :class:`mmrock.apis.ROCKInferencer`), the depth (ground truth and prediction
    share one colour range, given in the title) and the surface normals (RGB = (n + 1) / 2,
    invalid ground truth black). Dense maps are resized to the drawn image (ground truth:
    nearest). A sample without ROCK fields is drawn exactly as by :class:`DetLocalVisualizer`.

    Args:
        *args, **kwargs: :class:`DetLocalVisualizer`'s arguments.
    """

    def boxes_panel(self,
                    image: np.ndarray,
                    instances,
                    score_thr: Optional[float] = None) -> Tuple[np.ndarray, int]:
        """Draw boxes on an image.

        Args:
            image (np.ndarray): (H, W, 3) uint8 RGB.
            instances (InstanceData): Boxes (``bboxes`` (N, 4), ``labels`` (N, ), and
                ``scores`` (N, ) for predictions).
            score_thr (float, optional): Draw the predictions scoring above it; None: ground
                truth, all drawn. Defaults to None.

        Returns:
            tuple[np.ndarray, int]: The drawn (H, W, 3) image and the number of boxes drawn.
        """
        if score_thr is not None:
            instances = instances[instances.scores > score_thr]
        drawn = self._draw_instances(image, instances, self.dataset_meta.get('classes'),
                                     self.dataset_meta.get('palette'))
        return drawn, len(instances)

    def scene_name(self, index: int) -> str:
        """The name of a scene class.

        Args:
            index (int): The scene class.

        Returns:
            str: Its name, or its number when the metadata has no names.
        """
        names = self.dataset_meta.get('scene_classes')
        return names[index] if names is not None and 0 <= index < len(names) else str(index)

    def sample_rows(self,
                    image: np.ndarray,
                    data_sample: DetDataSample,
                    draw_gt: bool = True,
                    draw_pred: bool = True,
                    pred_score_thr: float = 0.3) -> List[List[Panel]]:
        """The ground-truth and prediction rows of :meth:`add_datasample`, columns
        :data:`COLUMNS` (a column no row uses is dropped).

        Args:
            image (np.ndarray): (H, W, 3) uint8 RGB.
            data_sample (DetDataSample): The sample, with ROCK fields.
            draw_gt (bool): Draw the ground-truth row. Defaults to True.
            draw_pred (bool): Draw the prediction row. Defaults to True.
            pred_score_thr (float): Draw the boxes scoring above it. Defaults to 0.3.

        Returns:
            list[list[Panel]]: ``(title, (H, W, 3) uint8 RGB panel or None)`` rows.
        """
        hw = image.shape[:2]
        dense = {}
        for field in ('gt_depth', 'gt_normals', 'pred_depth', 'pred_normals', 'pred_scene_map'):
            if field in data_sample:
                dense[field] = resize_maps(
                    as_float_array(data_sample.get(field)), hw, nearest=field.startswith('gt_'))
        vrange = depth_range(*(dense[f][0] for f in ('gt_depth', 'pred_depth') if f in dense))
        depth_title = f'depth {vrange[0]:.2f}-{vrange[1]:.2f} m'
        rows = []
        if draw_gt:
            row = {}
            title = 'Ground truth'
            if 'gt_instances' in data_sample:
                drawn, n = self.boxes_panel(image, data_sample.gt_instances)
                title, row['boxes'] = f'{title}: {n} boxes', drawn
            if 'gt_scene_label' in data_sample:
                title += f'\nscene {self.scene_name(int(data_sample.gt_scene_label))}'
            row.setdefault('boxes', image)
            row['title'] = title
            if 'gt_depth' in dense:
                row['depth'] = depth_to_rgb(dense['gt_depth'][0], vrange)
            if 'gt_normals' in dense:
                row['normals'] = normals_to_rgb(dense['gt_normals'])
            rows.append(row)
        if draw_pred:
            row = {}
            title = 'Prediction'
            if 'pred_instances' in data_sample:
                drawn, n = self.boxes_panel(image, data_sample.pred_instances, pred_score_thr)
                title, row['boxes'] = f'{title}: {n} boxes > {pred_score_thr:g}', drawn
            if 'pred_scene_scores' in data_sample:
                scores = as_float_array(data_sample.pred_scene_scores)
                top = int(scores.argmax())
                title += f'\nscene {self.scene_name(top)} ({scores[top]:.2f})'
            row.setdefault('boxes', image)
            row['title'] = title
            if 'pred_scene_map' in dense:
                row['scene'] = heatmap_on_image(image, dense['pred_scene_map'][0])
            if 'pred_depth' in dense:
                row['depth'] = depth_to_rgb(dense['pred_depth'][0], vrange)
            if 'pred_normals' in dense:
                row['normals'] = normals_to_rgb(dense['pred_normals'])
            rows.append(row)
        titles = dict(
            scene='scene heat-map (top class)', depth=depth_title, normals='surface normals')
        used = [c for c in COLUMNS if any(c in row for row in rows)]
        return [[(row['title'] if c == 'boxes' else titles[c], row.get(c)) for c in used]
                for row in rows]

    @master_only
    def add_datasample(self,
                       name: str,
                       image: np.ndarray,
                       data_sample: Optional[DetDataSample] = None,
                       draw_gt: bool = True,
                       draw_pred: bool = True,
                       show: bool = False,
                       wait_time: float = 0,
                       out_file: Optional[str] = None,
                       pred_score_thr: float = 0.3,
                       step: int = 0) -> None:
        """:meth:`DetLocalVisualizer.add_datasample` (same arguments and outputs: shown,
        written to ``out_file`` or sent to the visualisation backends) with the grid of
        :meth:`sample_rows` when the sample has ROCK fields.

        Args:
            name (str): The image's identifier.
            image (np.ndarray): (H, W, 3) RGB image.
            data_sample (DetDataSample, optional): Ground truth and predictions. Defaults to
                None.
            draw_gt (bool): Draw the ground truth. Defaults to True.
            draw_pred (bool): Draw the predictions. Defaults to True.
            show (bool): Show the drawing in a window. Defaults to False.
            wait_time (float): Seconds the window is shown. Defaults to 0.
            out_file (str, optional): Image file to write instead of the backends. Defaults to
                None.
            pred_score_thr (float): Draw the boxes scoring above it. Defaults to 0.3.
            step (int): Global step for the backends. Defaults to 0.
        """
        if not has_aux_outputs(data_sample):
            return super().add_datasample(name, image, data_sample, draw_gt, draw_pred, show,
                                          wait_time, out_file, pred_score_thr, step)
        image = image.clip(0, 255).astype(np.uint8)
        drawn = tile(self.sample_rows(image, data_sample.cpu(), draw_gt, draw_pred, pred_score_thr))
        self.set_image(drawn)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            mmcv.imwrite(drawn[..., ::-1], out_file)
        else:
            self.add_image(name, drawn, step)
