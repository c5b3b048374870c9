"""Reference checkpoint.pkl -> infty safetensors checkpoint (see convert-reference-checkpoint).

The reference's train_inf_ae_diffusion.py saves a dict with model_state_dict,
model_ema_state_dict, encoder_state_dict, optimizer_state_dict and global_step. Names map
one to one: model_state_dict -> decoder.*, model_ema_state_dict -> ema.*,
encoder_state_dict -> encoder.*; Adam's exp_avg / exp_avg_sq -> optim.m.* / optim.v.*
by parameter order (decoder parameters, then encoder parameters, as the reference builds
its optimizer). The metadata records the config (a preset from plugins/net/configs or a
JSON file) with the reference's grid_sample mapping, and the training step.
"""

import argparse
import json
import pathlib
import sys

import torch
from safetensors.torch import save_file

ROOT = pathlib.Path(__file__).resolve().parent.parent
PRESETS = ROOT / "plugins" / "net" / "configs"
# The reference configs' learning rates (docs/reference.md §3.1).
LEARNING_RATES = {128: 1e-4, 256: 5e-5}


def fail(message):
    print(f"convert-reference-checkpoint: {message}", file=sys.stderr)
    sys.exit(2)


def read_config(name):
    path = PRESETS / f"{name}.json"
    if not path.exists():
        path = pathlib.Path(name)
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        presets = ", ".join(sorted(p.stem for p in PRESETS.glob("*.json")))
        fail(f"--config {name}: not a preset ({presets}) nor a readable JSON file: {e}")
    config["reference_grid_sample"] = True
    return config


def parameter_names(state_dict, buffers=("uno_coords",)):
    """Parameter names in module.parameters() order: the state_dict order without buffers."""
    return [k for k in state_dict if k.split(".")[-1] not in buffers]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", help="the reference checkpoint.pkl")
    parser.add_argument("output", help="the .safetensors file to write")
    parser.add_argument("--config", required=True, help="ffhq128, ffhq256, tiny, or a JSON file")
    args = parser.parse_args()

    config = read_config(args.config)
    try:
        ckpt = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many kinds for a bad file
        fail(f"{args.checkpoint}: cannot be read as a PyTorch checkpoint: {e}")
    missing = [k for k in ("model_state_dict", "encoder_state_dict") if k not in ckpt]
    if missing:
        fail(f"{args.checkpoint}: no {', '.join(missing)}; is this a train_inf_ae_diffusion checkpoint?")

    tensors = {}
    for prefix, key in (("decoder.", "model_state_dict"), ("ema.", "model_ema_state_dict"), ("encoder.", "encoder_state_dict")):
        for name, value in ckpt.get(key, {}).items():
            tensors[prefix + name] = value.detach().float().contiguous()

    step = int(ckpt.get("global_step", 0))
    optimizer = ckpt.get("optimizer_state_dict")
    if optimizer:
        names = ["decoder." + n for n in parameter_names(ckpt["model_state_dict"])]
        names += ["encoder." + n for n in parameter_names(ckpt["encoder_state_dict"])]
        order = [i for group in optimizer["param_groups"] for i in group["params"]]
        if len(order) != len(names):
            fail(f"the optimizer holds {len(order)} parameters, the networks {len(names)}")
        for index, name in zip(order, names):
            state = optimizer["state"].get(index)
            if state is not None:
                tensors[f"optim.m.{name}"] = state["exp_avg"].float().contiguous()
                tensors[f"optim.v.{name}"] = state["exp_avg_sq"].float().contiguous()

    hyper = {
        "learning_rate": LEARNING_RATES.get(config["img_size"], 1e-4),
        "betas": [0.9, 0.99],
        "eps": 1e-8,
        "grad_clip": 1.0,
        "ema_decay": 0.995,
        "ema_every": 10,
        "seed": 0,
    }
    metadata = {
        "format": "infty-net/1",
        "config": json.dumps(config),
        "train_state": json.dumps({"step": step, "hyper": hyper}),
        "converted_from": str(pathlib.Path(args.checkpoint).name),
    }
    output = pathlib.Path(args.output)
    partial = output.with_name(output.name + ".part")
    save_file(tensors, str(partial), metadata=metadata)
    partial.replace(output)
    print(f"wrote {output}: {len(tensors)} tensors, step {step}", file=sys.stderr)


if __name__ == "__main__":
    main()
