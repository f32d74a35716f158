#!/usr/bin/env bash
# Distributed testing with torchrun (NCCL on GPUs, gloo on CPU):
#   tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT; PYTHON: the interpreter (dist_launch.sh).
exec "$(dirname "$0")/dist_launch.sh" test.py "$3" "$1" "$2" "${@:4}"
