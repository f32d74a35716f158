"""Where and when a benchmark ran: machine, library versions, date, load."""
import datetime
import os
import platform
import subprocess
from typing import Optional

import torch


def cpu_model() -> str:
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown'


def git_commit(cwd: Optional[str] = None) -> Optional[str]:
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
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def environment(device: str) -> dict:
    """Machine and software description stored with every result."""
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
