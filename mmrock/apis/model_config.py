"""An mmrock model for inference from a config and a checkpoint, completed as the tools complete
it: ``SceneHead.num_classes`` from the checkpoint's metadata or the config's dataset, the
checkpoint loaded ``weights_only`` unless the config opts in (``allow_pickled_checkpoints``)."""
import copy
import os.path as osp
from typing import Optional, Union

from mmengine.config import Config
from mmengine.runner.checkpoint import CheckpointLoader

from mmrock.engine.data_check import scene_classes_message, scene_head_cfg
from mmrock.utils import checkpoint_loading_for, from_plain


def load_model_config(model) -> Optional[Config]:
    """A model config as a ``Config`` of its own (a copy).

    Args:
        model (str | Config | dict | None): A config file, a ``Config`` or a dict; or what
            mmdet resolves itself (a model-zoo name, None: the checkpoint's config).

    Returns:
        Config | None: The copy, or None for what mmdet resolves itself.
    """
    if isinstance(model, str) and osp.isfile(model):
        return Config.fromfile(model)
    if isinstance(model, Config):
        return copy.deepcopy(model)
    if isinstance(model, dict):  # ConfigDict included
        return Config(copy.deepcopy(dict(model)))
    return None


def checkpoint_meta(weights: str) -> dict:
    """The ``meta`` of a checkpoint, read by mmengine's loaders in force.

    Args:
        weights (str): Path or URL of the checkpoint.

    Returns:
        dict: Its metadata ({} when it has none).
    """
    checkpoint = CheckpointLoader.load_checkpoint(weights, map_location='cpu')
    return from_plain(checkpoint.get('meta') or {}) if isinstance(checkpoint, dict) else {}


def complete_scene_head(cfg: Config, weights: Optional[str] = None) -> None:
    """Complete ``SceneHead.num_classes`` left unset (None) in a config, in place: the number of
    ``scene_classes`` in the checkpoint's metadata, else in the config's test dataset, as
    ``tools/train.py`` takes it. The checkpoint is read only then, under the loader in force.

    Args:
        cfg (Config): The config.
        weights (str, optional): The checkpoint. Defaults to None.

    Raises:
        ValueError: Neither gives them, or they disagree with the config (one line).
    """
    scene = scene_head_cfg(cfg)
    if not scene or scene.get('num_classes') is not None:
        return
    meta = checkpoint_meta(weights) if weights else None
    message = scene_classes_message(cfg, 'test', checkpoint_meta=meta)
    if message:
        raise ValueError(message)


def init_detector(config: Union[str, Config, dict],
                  checkpoint: Optional[str] = None,
                  palette: str = 'none',
                  device: str = 'cuda:0',
                  cfg_options: Optional[dict] = None):
    """mmdet's ``init_detector`` (same arguments) for mmrock configs: ``SceneHead.num_classes``
    completed (:func:`complete_scene_head`) and the checkpoint loaded with
    ``weights_only=True``, or fully unpickled where the config sets
    ``allow_pickled_checkpoints = True``.

    Args:
        config (str | Config | dict): Config file, ``Config`` or dict.
        checkpoint (str, optional): Checkpoint path or URL. Defaults to None (no weights).
        palette (str): Colour palette of the visualiser. Defaults to 'none'.
        device (str): Device of the model. Defaults to 'cuda:0'.
        cfg_options (dict, optional): Options merged into the config. Defaults to None.

    Returns:
        nn.Module: The model, in eval mode, with ``cfg`` and ``dataset_meta`` set.
    """
    from mmdet.apis import init_detector as mmdet_init_detector
    cfg = load_model_config(config)
    if cfg is None:
        raise TypeError(f'config must be a config file, a Config or a dict, got {config!r}')
    if cfg_options is not None:
        cfg.merge_from_dict(cfg_options)
        cfg_options = {}  # merged: mmdet's then keeps the backbone's init_cfg, as with them
    with checkpoint_loading_for(cfg):
        complete_scene_head(cfg, checkpoint)
        return mmdet_init_detector(
            cfg, checkpoint, palette=palette, device=device, cfg_options=cfg_options)
