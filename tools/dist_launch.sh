#!/usr/bin/env bash
# Shared by dist_train.sh / dist_test.sh: run tools/TOOL in NPROC processes per node with torchrun
# (NCCL on GPUs, gloo on CPU; the tools pick the backend):
#   tools/dist_launch.sh TOOL NPROC [TOOL args]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT as for mmdet's scripts. PYTHON picks the
# interpreter (default: python).
set -euo pipefail
TOOL=$1
NPROC=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-python}

PYTHONPATH="$(dirname "$0")/..${PYTHONPATH:+:$PYTHONPATH}" \
"$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NPROC" \
    --master_port="$PORT" \
    "$(dirname "$0")/$TOOL" "${@:3}" --launcher pytorch
