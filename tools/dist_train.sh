#!/usr/bin/env bash
# Distributed training with torchrun (NCCL on GPUs, gloo on CPU):
#   tools/dist_train.sh CONFIG GPUS [train.py args]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT; PYTHON: the interpreter (dist_launch.sh).
exec "$(dirname "$0")/dist_launch.sh" train.py "$2" "$1" "${@:3}"
