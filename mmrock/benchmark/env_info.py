"""Where and when a benchmark ran: machine, library versions, date, load."""
import datetime
import os
import platform
import subprocess
from typing import Optional

import torch


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``, else ``platform.processor()``, else 'unknown').

    Returns:
        str: The name.
    """
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown'


def git_commit(cwd: Optional[str] = None) -> Optional[str]:
    """The short hash of the checked-out commit.

    Args:
        cwd (str, optional): A folder of the repository. Defaults to None (the current one).

    Returns:
        str | None: The hash, or None outside a git checkout.
    """
    try:
        out = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'],
                             cwd=cwd,
                             check=True,
                             capture_output=True,
                             text=True)
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def load_average() -> Optional[list]:
    """The system's load averages.

    Returns:
        list[float] | None: Over 1, 5 and 15 minutes, or None where unavailable.
    """
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def environment(device: str) -> dict:
    """Machine and software description stored with every result.

    Args:
        device (str): The benchmarked device (``'cpu'``, ``'cuda:0'``...).

    Returns:
        dict: Date, CPU, thread counts, library versions, git commit, device, load average,
        thread environment variables and, on CUDA, the GPU and cuDNN settings.
    """
    import mmcv
    import mmdet
    import mmengine
    info = dict(
        date=datetime.datetime.now().astimezone().isoformat(timespec='seconds'),
        cpu=cpu_model(),
        cpu_count=os.cpu_count(),
        torch_threads=torch.get_num_threads(),
        python=platform.python_version(),
        torch=torch.__version__,
        mmcv=mmcv.__version__,
        mmdet=mmdet.__version__,
        mmengine=mmengine.__version__,
        git_commit=git_commit(os.path.dirname(os.path.abspath(__file__))),
        device=device,
        load_average=load_average(),
        env={
            k: os.environ[k]
            for k in ('OMP_NUM_THREADS', 'OMP_WAIT_POLICY', 'MKL_NUM_THREADS') if k in os.environ
        })
    if device.startswith('cuda'):
        info.update(
            gpu=torch.cuda.get_device_name(device),
            cuda=torch.version.cuda,
            cudnn=torch.backends.cudnn.version(),
            cudnn_benchmark=torch.backends.cudnn.benchmark)
    return info
