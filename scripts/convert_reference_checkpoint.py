"""Reference checkpoints -> infty safetensors checkpoints (see convert-reference-checkpoint).

Decoder and encoder: the reference's train_inf_ae_diffusion.py saves a dict with model_state_dict,
model_ema_state_dict, encoder_state_dict, optimizer_state_dict and global_step. Names map
one to one: model_state_dict -> decoder.*, model_ema_state_dict -> ema.*,
encoder_state_dict -> encoder.*; Adam's exp_avg / exp_avg_sq -> optim.m.* / optim.v.*
by parameter order (decoder parameters, then encoder parameters, as the reference builds
its optimizer). The metadata records the config (a preset from plugins/net/configs or a
JSON file) with the reference's grid_sample mapping, and the training step.

Latent prior (--latents given): train_latent_diffusion.py saves latent_checkpoint.pkl with
the MLPSkipNet's model_state_dict, model_ema_state_dict, its AdamW state and global_step;
they map to latent.*, ema.* and optim.m.* / optim.v.* (in parameter order). The config is
read from the weights' shapes, and the latents' normalisation from latents.pkl (load_latents'
cache: a tuple ending in mean and std), whose mean the reference keeps at zero.
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


def load(path):
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many kinds for a bad file
        fail(f"{path}: cannot be read as a PyTorch checkpoint: {e}")


def moments(tensors, optimizer, names):
    """Adam(W)'s exp_avg / exp_avg_sq as optim.m.* / optim.v.*, by parameter order."""
    order = [i for group in optimizer["param_groups"] for i in group["params"]]
    if len(order) != len(names):
        fail(f"the optimizer holds {len(order)} parameters, the networks {len(names)}")
    for index, name in zip(order, names):
        state = optimizer["state"].get(index)
        if state is not None:
            tensors[f"optim.m.{name}"] = state["exp_avg"].float().contiguous()
            tensors[f"optim.v.{name}"] = state["exp_avg_sq"].float().contiguous()


def write(output, tensors, metadata, step):
    output = pathlib.Path(output)
    partial = output.with_name(output.name + ".part")
    save_file(tensors, str(partial), metadata=metadata)
    partial.replace(output)
    print(f"wrote {output}: {len(tensors)} tensors, step {step}", file=sys.stderr)


def latent_config(weights):
    """MLPSkipNet's sizes from its state dict (models/latent_model.py)."""
    try:
        layers = {k.split(".")[1] for k in weights if k.startswith("layers.")}
        return {
            "channels": weights["out_layer.weight"].shape[0],
            "hid_channels": weights["in_layer.linear.weight"].shape[0],
            "num_layers": len(layers) + 2,
            "time_emb_channels": weights["time_embed.0.weight"].shape[1],
            "dropout": 0.0,
            "noise_schedule": "const0.008",
            "diffusion_steps": 1000,
        }
    except KeyError as e:
        fail(f"the latent checkpoint's model_state_dict has no {e}; is it an MLPSkipNet?")


def convert_latent(args):
    ckpt = load(args.checkpoint)
    if "model_state_dict" not in ckpt or "encoder_state_dict" in ckpt:
        fail(f"{args.checkpoint}: not a train_latent_diffusion checkpoint (model_state_dict, no encoder)")
    cached = load(args.latents)
    if not isinstance(cached, (tuple, list)) or len(cached) < 4:
        fail(f"{args.latents}: not load_latents' cache (a tuple ending in mean and std)")
    mean, std = (t.float().reshape(-1).tolist() for t in cached[-2:])
    config = latent_config(ckpt["model_state_dict"])
    if len(std) != config["channels"] or len(mean) != config["channels"]:
        fail(f"{args.latents} normalises {len(std)} dimensions; the prior models {config['channels']}")
    tensors = {}
    for prefix, key in (("latent.", "model_state_dict"), ("ema.", "model_ema_state_dict")):
        for name, value in ckpt.get(key, {}).items():
            tensors[prefix + name] = value.detach().float().contiguous().clone()  # a copy: two dicts may share tensors
    if ckpt.get("optimizer_state_dict"):
        moments(tensors, ckpt["optimizer_state_dict"], ["latent." + n for n in ckpt["model_state_dict"]])
    step = int(ckpt.get("global_step", 0))
    # train_latent_diffusion.py: AdamW(lr 1e-4, betas 0.9/0.99, weight decay 0.04), EMA 0.995 every 10.
    hyper = {"learning_rate": 1e-4, "betas": [0.9, 0.99], "eps": 1e-8, "grad_clip": 1.0,
             "ema_decay": 0.995, "ema_every": 10, "seed": 0, "weight_decay": 0.04}
    metadata = {
        "format": "infty-latent/1",
        "config": json.dumps(config),
        "normalisation": json.dumps({"mean": mean, "std": std}),
        "train_state": json.dumps({"step": step, "hyper": hyper}),
        "converted_from": pathlib.Path(args.checkpoint).name,
    }
    write(args.output, tensors, metadata, step)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", help="the reference checkpoint.pkl (or latent_checkpoint.pkl)")
    parser.add_argument("output", help="the .safetensors file to write")
    parser.add_argument("--config", help="the decoder's config: ffhq128, ffhq256, tiny, or a JSON file")
    parser.add_argument("--latents", help="for a latent prior: the run's latents.pkl (its normalisation)")
    args = parser.parse_args()
    if args.latents:
        return convert_latent(args)
    if not args.config:
        fail("give --config for a decoder checkpoint, or --latents for a latent prior")

    config = read_config(args.config)
    ckpt = load(args.checkpoint)
    missing = [k for k in ("model_state_dict", "encoder_state_dict") if k not in ckpt]
    if missing:
        fail(f"{args.checkpoint}: no {', '.join(missing)}; is this a train_inf_ae_diffusion checkpoint?")

    tensors = {}
    for prefix, key in (("decoder.", "model_state_dict"), ("ema.", "model_ema_state_dict"), ("encoder.", "encoder_state_dict")):
        for name, value in ckpt.get(key, {}).items():
            tensors[prefix + name] = value.detach().float().contiguous().clone()  # a copy: two dicts may share tensors

    step = int(ckpt.get("global_step", 0))
    if ckpt.get("optimizer_state_dict"):
        names = ["decoder." + n for n in parameter_names(ckpt["model_state_dict"])]
        names += ["encoder." + n for n in parameter_names(ckpt["encoder_state_dict"])]
        moments(tensors, ckpt["optimizer_state_dict"], names)

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
    write(args.output, tensors, metadata, step)


if __name__ == "__main__":
    main()
