#!/usr/bin/env python3
"""Check that a checkpoint trained by runner loads into the reference PyTorch Stage 1 model.

    /work/venv-torch/bin/python tools/check_export.py model.safetensors
    /work/venv-torch/bin/python tools/check_export.py model.safetensors --compare io.safetensors

Builds tools/reference_model.py's Stage1Model from the file's `stage1_config` metadata, loads the
tensors with load_state_dict(strict=True) (every name and shape must match, nothing missing or
extra) and prints a JSON summary. With --compare, the file holds `input` [N, 2, S, S, S] (raw
mm^-1 volumes) and `output` (runner's reconstructions of them, e.g. from `runner predict`): the
PyTorch model in eval mode (standardising the input and de-standardising its output when the
metadata has `target_standardization`, as runner does) must reproduce `output` within --atol.
Exit 0 when everything holds, 1 otherwise (the reason on stderr).
"""
import argparse
import json
import os
import sys

import torch
from safetensors import safe_open
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_model import Stage1Model, parameter_count  # noqa: E402


def build(config):
    attention = [i + 1 in config.get("attentionLayers", []) for i in range(4)]
    return Stage1Model(base=config["baseChannels"], latent=config["latentDim"], blocks=config["residualBlocks"],
                       attention=attention, dropout_kind=config.get("dropoutKind", "element"),
                       dropout_rate=config.get("dropoutRate", 0.0), size=config["inputSize"],
                       channels=config.get("channels", 2))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--compare", help="safetensors file with `input` and runner's `output`")
    ap.add_argument("--atol", type=float, default=1e-4)
    args = ap.parse_args()

    with safe_open(args.checkpoint, framework="pt") as f:
        metadata = f.metadata() or {}
    if "stage1_config" not in metadata:
        print(f"{args.checkpoint}: no stage1_config metadata (not written by runner's train step)", file=sys.stderr)
        return 1
    config = json.loads(metadata["stage1_config"])
    model = build(config)
    state = load_file(args.checkpoint)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        print(f"{args.checkpoint}: load_state_dict(strict=True) failed: {e}", file=sys.stderr)
        return 1
    summary = {"checkpoint": args.checkpoint, "strict_load": True, "tensors": len(state),
               "parameters": parameter_count(model), "config": config}
    stats = json.loads(metadata["target_standardization"]) if "target_standardization" in metadata else None
    summary["standardized_targets"] = stats is not None

    if args.compare:
        io = load_file(args.compare)
        x, expected = io["input"].float(), io["output"].float()
        model.eval()
        shape = (1, -1, 1, 1, 1)
        with torch.no_grad():
            if stats:
                mean = torch.tensor(stats["mean"], dtype=torch.float32).view(shape)
                std = torch.tensor(stats["std"], dtype=torch.float32).view(shape)
                y = model((x - mean) / std) * std + mean
            else:
                y = model(x)
        diff = (y - expected).abs().max().item()
        scale = expected.abs().max().item()
        summary.update({"compared_samples": int(x.shape[0]), "max_abs_difference": diff, "max_abs_output": scale,
                        "atol": args.atol})
        if not diff <= args.atol:
            print(json.dumps(summary, indent=1), file=sys.stderr)
            print(f"PyTorch's output differs from runner's by {diff:.3g} (> atol {args.atol})", file=sys.stderr)
            return 1
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
