"""Before training starts: fetch and verify the pretrained weights a config initialises from.

mmengine resolves ``torchvision://NAME`` by importing torchvision, which mmrock does not need
(and which, for a CPU build of torch, often cannot be installed beside it), and downloads
``http(s)://`` checkpoints only when the model initialises, without checking what arrived.
:func:`prepare_pretrained_weights`, called by ``tools/train.py`` before the runner is built:

- finds every ``init_cfg=dict(type='Pretrained', checkpoint=...)`` in ``cfg.model`` (and a
  ``load_from``) that names a download;
- resolves ``torchvision://NAME`` through the URL table mmengine ships
  (``mmengine/hub/torchvision_0.12.json``), without importing torchvision;
- downloads each file into torch's hub cache (``$TORCH_HOME/hub/checkpoints``, where mmengine
  and torchvision look too) unless it is already there, and verifies it: the SHA-256 and size of
  the files mmrock's configs name (:data:`KNOWN_FILES`), else the SHA-256 prefix that torchvision
  and OpenMMLab put in their file names (``resnet50-0676ba61.pth``);
- points the config at the verified local file, so the runner loads exactly that file;
- or raises :class:`PretrainedWeightsError` with one line: what could not be fetched, and the
  two ways on (a local copy of the file, or training from scratch with trainable stem and BN).

A ``checkpoint`` that is a local path must exist. A config whose backbone starts from random
weights must not keep its stem frozen, its BN statistics fixed or its BN affine parameters frozen
(:func:`from_scratch_problem`).
"""
import hashlib
import json
import os
import os.path as osp
import re
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from typing import Callable, Iterator, List, Optional, Tuple

# torchvision's ResNet-50 ImageNet-1k weights (``ResNet50_Weights.IMAGENET1K_V1``), the
# initialisation of the paper and of mmdet's ``torchvision://resnet50``.
RESNET50_IMAGENET_URL = 'https://download.pytorch.org/models/resnet50-0676ba61.pth'
# url -> (sha256, size in bytes) of the files mmrock's configs download.
KNOWN_FILES = {
    RESNET50_IMAGENET_URL:
    ('0676ba61b6795bbe1773cffd859882e5e297624d384b6993f7c9e683e722fb8a', 102530333),
}
SCRATCH_OPTIONS = 'init_cfg=None {key}.frozen_stages=-1 {key}.norm_eval=False'
_HASH_IN_NAME = re.compile(r'-([0-9a-f]{8,64})\.[A-Za-z0-9]+$')
_CHUNK = 1 << 20


class PretrainedWeightsError(RuntimeError):
    """Pretrained weights that a config needs cannot be used; the message is one line."""


def torchvision_urls() -> dict:
    """The URLs of ``torchvision://name``, from the table mmengine ships (the URLs of
    torchvision 0.12, which mmengine also uses with newer torchvision).

    Returns:
        dict: ``{name: url}``.
    """
    import mmengine
    with open(osp.join(mmengine.__path__[0], 'hub', 'torchvision_0.12.json')) as f:
        return json.load(f)


def hub_checkpoint_dir() -> str:
    """torch's hub cache for checkpoints, where mmengine's and torchvision's downloads go.

    Returns:
        str: ``$TORCH_HOME/hub/checkpoints``.
    """
    import torch.hub
    return osp.join(torch.hub.get_dir(), 'checkpoints')


def pretrained_init_cfgs(node, key: str = 'model') -> Iterator[Tuple[str, dict]]:
    """Every ``type='Pretrained'`` initialiser in a model config (``init_cfg`` dicts or lists of
    them, at any depth).

    Args:
        node (dict | list): The model config, or a part of it.
        key (str): Its dotted key. Defaults to 'model'.

    Yields:
        tuple[str, dict]: ``(dotted key of the init_cfg, the init_cfg)``.
    """
    if isinstance(node, dict):
        init = node.get('init_cfg')
        for i, item in enumerate(init if isinstance(init, (list, tuple)) else [init]):
            if isinstance(item, dict) and item.get('type') == 'Pretrained':
                suffix = f'[{i}]' if isinstance(init, (list, tuple)) else ''
                yield f'{key}.init_cfg{suffix}', item
        for name, value in node.items():
            if name != 'init_cfg':
                yield from pretrained_init_cfgs(value, f'{key}.{name}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from pretrained_init_cfgs(value, f'{key}[{i}]')


def drop_pretrained_init_cfgs(node) -> int:
    """Remove every ``type='Pretrained'`` initialiser from a model config (in place): the
    modules keep their default initialisation.

    Args:
        node (dict | list): The model config, or a part of it.

    Returns:
        int: How many were removed.
    """
    removed = 0
    if isinstance(node, dict):
        init = node.get('init_cfg')
        if isinstance(init, dict) and init.get('type') == 'Pretrained':
            node['init_cfg'], removed = None, 1
        elif isinstance(init, (list, tuple)):
            kept = [i for i in init if not (isinstance(i, dict) and i.get('type') == 'Pretrained')]
            node['init_cfg'], removed = kept or None, len(init) - len(kept)
        for name, value in node.items():
            if name != 'init_cfg':
                removed += drop_pretrained_init_cfgs(value)
    elif isinstance(node, (list, tuple)):
        removed += sum(drop_pretrained_init_cfgs(value) for value in node)
    return removed


def expected_checksum(url: str) -> Tuple[Optional[str], Optional[int]]:
    """The checksum that the file of a URL must have.

    Args:
        url (str): The file's address.

    Returns:
        tuple[str | None, int | None]: (SHA-256 or its prefix, size in bytes or None);
        (None, None) when neither :data:`KNOWN_FILES` nor the file name gives one.
    """
    if url in KNOWN_FILES:
        return KNOWN_FILES[url]
    match = _HASH_IN_NAME.search(urllib.parse.urlparse(url).path)
    return (match.group(1), None) if match else (None, None)


def sha256_of(path: str) -> str:
    """The SHA-256 of a file.

    Args:
        path (str): The file.

    Returns:
        str: Its hex digest.
    """
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(_CHUNK), b''):
            digest.update(chunk)
    return digest.hexdigest()


def checksum_problem(path: str, url: str) -> Optional[str]:
    """Why a local file is not the file of a URL (:func:`expected_checksum`).

    Args:
        path (str): The local file.
        url (str): The file's address.

    Returns:
        str | None: The wrong size or SHA-256, or None when it matches.
    """
    sha, size = expected_checksum(url)
    if size is not None and osp.getsize(path) != size:
        return f'its size is {osp.getsize(path)} bytes, expected {size}'
    if sha is not None:
        actual = sha256_of(path)
        if not actual.startswith(sha):
            return f'its SHA-256 is {actual}, expected {sha}{"" if len(sha) == 64 else "..."}'
    return None


def download(url: str, path: str, timeout: float = 60., progress: bool = True) -> None:
    """Download ``url`` to ``path`` through a temporary file of the same folder, renamed once
    complete (concurrent processes never see a partial file).

    Not ``torch.hub.download_url_to_file``: it does the same but takes no ``timeout`` (torch 2.13;
    pinned by ``tests/test_engine/test_pretrained_weights.py``), so a host that accepts the
    connection and sends nothing would hang the run.

    Args:
        url (str): ``http(s)://`` address of the file.
        path (str): Where the file goes (its folder is created).
        timeout (float): Seconds to wait for the connection and for each read. Defaults to 60.
        progress (bool): Show a progress bar. Defaults to True.
    """
    from tqdm import tqdm
    os.makedirs(osp.dirname(path), exist_ok=True)
    with urllib.request.urlopen(url, timeout=timeout) as response:
        total = int(response.headers.get('Content-Length') or 0) or None
        fd, tmp = tempfile.mkstemp(dir=osp.dirname(path), prefix='.download-')
        try:
            with os.fdopen(fd, 'wb') as out, tqdm(
                    total=total,
                    unit='B',
                    unit_scale=True,
                    unit_divisor=1024,
                    desc=f'Downloading {osp.basename(path)}',
                    disable=not progress) as bar:
                for chunk in iter(lambda: response.read(_CHUNK), b''):
                    out.write(chunk)
                    bar.update(len(chunk))
            os.replace(tmp, path)
        except BaseException:
            if osp.exists(tmp):
                os.unlink(tmp)
            raise


def fetch_verified(url: str, progress: bool = True) -> str:
    """A URL's file in torch's hub cache, downloaded if needed and verified
    (:func:`checksum_problem`).

    Args:
        url (str): The file's address.
        progress (bool): Show a progress bar. Defaults to True.

    Returns:
        str: The local path.

    Raises:
        PretrainedWeightsError: The download failed or the file is not the expected one (reason
            in one line).
    """
    path = osp.join(hub_checkpoint_dir(), osp.basename(urllib.parse.urlparse(url).path))
    fetched = False
    if not osp.isfile(path):
        try:
            download(url, path, progress=progress)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, 'reason', None) or exc
            raise PretrainedWeightsError(f'{url}: {reason}') from exc
        fetched = True
    problem = checksum_problem(path, url)
    if problem is not None:
        os.unlink(path)  # a corrupt or foreign file must not be picked up next time
        what = 'downloaded file' if fetched else f'cached file {path}'
        raise PretrainedWeightsError(f'{url}: the {what} is not the expected one ({problem}); '
                                     'it was deleted, try again')
    return path


def _is_url(checkpoint: str) -> bool:
    return checkpoint.startswith(('http://', 'https://', 'torchvision://'))


def _to_url(checkpoint: str) -> str:
    if not checkpoint.startswith('torchvision://'):
        return checkpoint
    name = checkpoint[len('torchvision://'):]
    urls = torchvision_urls()
    if name not in urls:
        raise PretrainedWeightsError(f'{checkpoint}: no such torchvision model in mmengine\'s '
                                     'table (mmengine/hub/torchvision_0.12.json)')
    return urls[name]


def _owner_key(init_key: str) -> str:
    """``model.backbone.init_cfg`` -> ``model.backbone``."""
    return init_key.rsplit('.init_cfg', 1)[0]


def fetch_failure_message(key: str, url: str, reason: str) -> str:
    """The one line of a failed fetch: what, why, and the two ways on.

    Args:
        key (str): Dotted key of the ``init_cfg``.
        url (str): The file's address.
        reason (str): Why the fetch failed.

    Returns:
        str: The message.
    """
    owner = _owner_key(key)
    return (f'Could not fetch the pretrained weights of {owner} ({reason}). Either download '
            f'{url} where you have network and point the config at the file: --cfg-options '
            f'{key}.checkpoint=/path/to/{osp.basename(url)} (docs/train_test.md, '
            '"Pretrained weights"); '
            'or train from scratch with a trainable stem and BN: --cfg-options '
            f'{owner}.{SCRATCH_OPTIONS.format(key=owner)}')


def _constructor_defaults(type_name) -> dict:
    """The keyword defaults of a registered backbone class (mmdet's ``ResNet`` defaults to
    ``norm_eval=True``); {} when the type cannot be looked up."""
    import inspect

    from mmdet.registry import MODELS
    cls = MODELS.get(type_name) if isinstance(type_name, str) else type_name
    if not inspect.isclass(cls):
        return {}
    return {
        name: p.default
        for name, p in inspect.signature(cls).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def from_scratch_problem(cfg) -> Optional[str]:
    """Whether a from-scratch backbone would stay partly random.

    That is a backbone that starts from random weights (no ``Pretrained`` initialiser, no
    ``load_from``, no resume) but keeps its stem / first stages frozen (``frozen_stages >= 0``),
    its BN statistics fixed (``norm_eval=True``) or its BN scale and shift frozen
    (``norm_cfg.requires_grad=False``, as in the DETR family's configs): those layers would stay
    at their initial values.

    Args:
        cfg (Config): The config.

    Returns:
        str | None: One line naming the settings and the fix, else None.
    """
    model = cfg.get('model') or {}
    backbone = model.get('backbone')
    if not isinstance(backbone, dict) or cfg.get('load_from') or cfg.get('resume'):
        return None
    if any(True for _ in pretrained_init_cfgs(model)):
        return None
    defaults = _constructor_defaults(backbone.get('type'))
    frozen = backbone.get('frozen_stages', defaults.get('frozen_stages', -1))
    norm_eval = backbone.get('norm_eval', defaults.get('norm_eval', False))
    norm_cfg = backbone.get('norm_cfg', defaults.get('norm_cfg')) or {}
    bn_grad = norm_cfg.get('requires_grad', True) if isinstance(norm_cfg, dict) else True
    if (frozen is None or frozen < 0) and not norm_eval and bn_grad is not False:
        return None
    settings = f'frozen_stages={frozen} / norm_eval={norm_eval}'
    fix = 'model.backbone.frozen_stages=-1 model.backbone.norm_eval=False'
    if bn_grad is False:
        settings += ' / norm_cfg.requires_grad=False'
        fix += ' model.backbone.norm_cfg.requires_grad=True'
    return ('model.backbone starts from random weights (no pretrained init_cfg, no load_from) '
            f'but {settings} would keep its stem or BN at their initial values: set '
            f'--cfg-options {fix}, or give it pretrained weights (docs/train_test.md, '
            '"Pretrained weights")')


def prepare_pretrained_weights(cfg,
                               log: Optional[Callable[[str], None]] = None,
                               progress: bool = True) -> List[str]:
    """Fetch, verify and localise the downloads a config initialises from (module docstring).

    Edits ``cfg`` in place: each downloaded ``checkpoint`` becomes the verified local file; with
    a ``load_from`` (whose weights replace any initialisation) only that file is fetched and the
    ``Pretrained`` initialisers are dropped.

    Args:
        cfg (Config): The config.
        log (Callable[[str], None], optional): Where the lines on each file go. Defaults to
            None (silent).
        progress (bool): Show download progress bars. Defaults to True.

    Returns:
        list[str]: The local paths.

    Raises:
        PretrainedWeightsError: A file cannot be fetched or verified, a local checkpoint is
            missing, or a from-scratch backbone would stay partly random (one line).
    """
    problem = from_scratch_problem(cfg)
    if problem:
        raise PretrainedWeightsError(problem)
    model = cfg.get('model') or {}
    if isinstance(cfg.get('load_from'), str) and not cfg.get('resume'):
        # the checkpoint's weights replace the initialisation: nothing else to fetch
        skipped = [_owner_key(key) for key, _ in pretrained_init_cfgs(model)]
        if skipped and drop_pretrained_init_cfgs(model) and log is not None:
            log(f'load_from gives the weights: the pretrained initialisation of '
                f'{", ".join(skipped)} is skipped')
        targets = [('load_from', cfg, 'load_from')]
    else:
        targets = [(key, init, 'checkpoint') for key, init in pretrained_init_cfgs(model)]
    paths = []
    for key, holder, field in targets:
        checkpoint = holder.get(field)
        name = f'{key}.{field}' if field == 'checkpoint' else key
        if not isinstance(checkpoint, str):
            continue
        if not _is_url(checkpoint):
            if '://' not in checkpoint and not osp.isfile(osp.expanduser(checkpoint)):
                raise PretrainedWeightsError(f'{name}: {checkpoint} does not exist')
            continue
        url = _to_url(checkpoint)
        try:
            path = fetch_verified(url, progress=progress)
        except PretrainedWeightsError as exc:
            if field == 'load_from':
                raise PretrainedWeightsError(
                    f'Could not fetch load_from ({exc}): download it where you have network '
                    'and pass the local file: --cfg-options load_from=/path/to/'
                    f'{osp.basename(url)}') from None
            raise PretrainedWeightsError(fetch_failure_message(key, url, str(exc))) from None
        holder[field] = path
        paths.append(path)
        if log is not None:
            log(f'{name}: {checkpoint} -> {path} (SHA-256 verified)')
    return paths
