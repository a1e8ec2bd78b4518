#!/usr/bin/env python3
"""Loads a toolkit run with PyTorch alone and checks it against the toolkit's own outputs:

  python3 check_interop.py RUN_DIR

- vqvae.safetensors loads with strict load_state_dict into the classic VQVAE (classic_models.py); re-encoding the
  first test images gives the indices of latents/test_indices.npy (numpy.load reads them with no flags);
- prior.safetensors, when RUN_DIR/prior exists, loads into the classic GatedPixelCNN, and its test cross-entropy on
  the first grids is within 1% of the toolkit's test_bits_per_latent.
Prints one JSON line; exits non-zero on a mismatch."""
import gzip, json, math, os, struct, sys
import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from classic_models import VQVAE, GatedPixelCNN, weights

run = sys.argv[1]
config = json.load(open(os.path.join(run, "config.json")))
latents = os.path.join(run, "latents")
info = json.load(open(os.path.join(latents, "latents.json")))
model = VQVAE(config["in_channels"], config["n_hiddens"], config["n_residual_hiddens"], config["n_residual_layers"],
              config["n_embeddings"], config["embedding_dim"], config["beta"])
model.load_state_dict(weights(load_file(os.path.join(run, "checkpoints", "vqvae.safetensors")), model), strict=True)
test_indices = np.load(os.path.join(latents, "test_indices.npy"))
result = {"vqvae_loaded": True, "test_indices": list(test_indices.shape)}

if info["dataset"] == "FASHION_MNIST":  # re-encode the first test images, padded 28x28 -> 32x32, scaled to [-1, 1]
    with gzip.open(os.path.join(info["data_dir"], "t10k-images-idx3-ubyte.gz")) as f:
        _, n, rows, cols = struct.unpack(">IIII", f.read(16))
        images = np.frombuffer(f.read(256 * rows * cols), np.uint8).reshape(256, 1, rows, cols)
    x = torch.from_numpy(np.pad(images, ((0, 0), (0, 0), (2, 2), (2, 2))).astype(np.float32) / 127.5 - 1)
    ours = torch.from_numpy(test_indices[:256].astype(np.int64))
    agree = (model.encode_indices(x) == ours).float().mean().item()
    result["reencoded_agreement"] = agree
    if agree < 0.999:
        sys.exit(f"re-encoded indices agree at only {agree:.4f}: {json.dumps(result)}")

prior_dir = os.path.join(run, "prior")
if os.path.isdir(prior_dir):
    pc = json.load(open(os.path.join(prior_dir, "config.json")))
    prior = GatedPixelCNN(pc["n_embeddings"], pc["dim"], pc["n_layers"], pc["n_classes"], pc["head_hidden"])
    prior.load_state_dict(weights(load_file(os.path.join(prior_dir, "checkpoints", "prior.safetensors")), prior),
                          strict=True)
    grids = torch.from_numpy(test_indices.astype(np.int64))
    labels = torch.from_numpy(np.load(os.path.join(latents, "test_labels.npy")).astype(np.int64)) \
        if pc["n_classes"] > 0 else None
    with torch.no_grad():
        nll = sum(F.cross_entropy(prior(grids[i:i + 500], None if labels is None else labels[i:i + 500]),
                                  grids[i:i + 500], reduction="sum").item() for i in range(0, len(grids), 500))
    bits = nll / grids.numel() / math.log(2)
    reported = json.load(open(os.path.join(prior_dir, "summary.json")))["test_bits_per_latent"]
    result.update(prior_loaded=True, pytorch_test_bits_per_latent=bits, toolkit_test_bits_per_latent=reported)
    if abs(bits - reported) > 0.01 * reported:
        sys.exit(f"the prior's test NLL differs: {json.dumps(result)}")
print(json.dumps(result))
