#!/usr/bin/env python3
"""The four stages of scripts/pipeline.sh in PyTorch, with the same settings, so that whole pipelines can be timed
side by side (scripts/bench-vs-pytorch.sh --pipeline):

  python3 scripts/pytorch/pipeline.py --config configs/quick.json [--train-limit N] [--test-limit N] [--threads 2]

1. vqvae-train: the classic VQ-VAE (classic_models.py) on Fashion-MNIST padded to 32x32, Adam with amsgrad, MSE over
   the training pixels' variance plus the quantizer's loss; with the config's codebook recipe: EMA updates (no
   codebook loss), a k-means++ start (10 Lloyd rounds) and dead-code restarts, or the classic loss-learnt codebook.
2. extract-latents: the code grids of the training and test images (the limits as scripts/pipeline.sh passes them).
3. gated-pixelcnn: the classic GatedPixelCNN on those grids (Adam, class-conditional), for the config's epochs or
   n_updates, then the test NLL.
4. sample: 100 grids drawn as the classic repo draws them (the whole network once per position), decoded.

Prints one JSON object: each stage's wall seconds and the figures (test NMSE, codes used, prior bits per latent).
Needs torch and numpy; reads the Fashion-MNIST IDX files of the config's data_dir (Debian's by default)."""
import argparse, gzip, json, math, os, struct, sys, time
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from classic_models import VQVAE, GatedPixelCNN  # noqa: E402


def idx_file(path, dims):
    with gzip.open(path) if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def fashion(data_dir, prefix, pad, limit):
    def find(name):
        for candidate in (name, name + ".gz"):
            if os.path.exists(os.path.join(data_dir, candidate)):
                return os.path.join(data_dir, candidate)
        sys.exit(f"pipeline.py: {name}[.gz] not found in {data_dir}")
    images = idx_file(find(f"{prefix}-images-idx3-ubyte"), 3)[:limit]
    labels = idx_file(find(f"{prefix}-labels-idx1-ubyte"), 1)[:limit]
    if pad:
        images = np.pad(images, ((0, 0), (2, 2), (2, 2)))
    x = torch.from_numpy(images.astype(np.float32)[:, None] / 127.5 - 1)
    return x, torch.from_numpy(labels.astype(np.int64))


def kmeans(vectors, k, generator, iterations=10):
    """k-means++ seeding, then Lloyd's rounds; an emptied cluster restarts from a random vector."""
    n = vectors.shape[0]
    centres = vectors[torch.randint(n, (1,), generator=generator)]
    nearest = torch.full((n,), float("inf"))
    while centres.shape[0] < k:
        nearest = torch.minimum(nearest, ((vectors - centres[-1]) ** 2).sum(1))
        pick = torch.multinomial(nearest / nearest.sum(), 1, generator=generator)
        centres = torch.cat([centres, vectors[pick]])
    for _ in range(iterations):
        assign = torch.cdist(vectors, centres).argmin(1)
        for c in range(k):
            members = vectors[assign == c]
            centres[c] = members.mean(0) if len(members) else vectors[torch.randint(n, (1,), generator=generator)][0]
    return centres


def train_vqvae(c, x_train, x_test):
    h, k, d = c["n_hiddens"], c["n_embeddings"], c["embedding_dim"]
    model = VQVAE(1, h, c["n_residual_hiddens"], c["n_residual_layers"], k, d, c["beta"])
    codebook = model.vector_quantization.embedding.weight
    ema = c.get("codebook_update", "ema") == "ema"
    decay, threshold = c.get("ema_decay", 0.99), c.get("dead_code_threshold", 0.1)
    params = [p for p in model.parameters() if not (ema and p is codebook)]
    opt = torch.optim.Adam(params, lr=c["learning_rate"], amsgrad=True)
    variance = x_train.var().item()
    generator = torch.Generator().manual_seed(c.get("seed", 0))
    encode = lambda x: model.pre_quantization_conv(model.encoder(x))
    flat = lambda z: z.permute(0, 2, 3, 1).reshape(-1, d)
    with torch.no_grad():
        if c.get("codebook_init", "kmeans") == "kmeans":
            wanted = max(c["batch_size"], (20 * k + 63) // 64)
            chosen = torch.randperm(len(x_train), generator=generator)[:wanted]
            codebook.copy_(kmeans(torch.cat([flat(encode(x_train[chosen[i:i + 64]])) for i in range(0, wanted, 64)]),
                                  k, generator))
    cluster_size, embed_avg, usage = torch.ones(k), codebook.detach().clone(), torch.ones(k)
    perm, pos = torch.randperm(len(x_train), generator=generator), 0
    for _ in range(c["n_updates"]):
        if pos + c["batch_size"] > len(perm):
            perm, pos = torch.randperm(len(x_train), generator=generator), 0
        x = x_train[perm[pos:pos + c["batch_size"]]]
        pos += c["batch_size"]
        z = encode(x)
        zf = flat(z)
        index = ((zf ** 2).sum(1, keepdim=True) + (codebook ** 2).sum(1) - 2 * zf @ codebook.t()).argmin(1)
        zq = codebook[index].view(z.shape[0], z.shape[2], z.shape[3], d).permute(0, 3, 1, 2)
        quantizer = c["beta"] * F.mse_loss(z, zq.detach())
        if not ema:
            quantizer = quantizer + F.mse_loss(zq, z.detach())
        recon = model.decoder(z + (zq - z).detach())
        loss = F.mse_loss(recon, x) / variance + quantizer
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            counts = torch.bincount(index, minlength=k).float()
            usage.mul_(decay).add_(counts, alpha=1 - decay)
            if ema:
                cluster_size.mul_(decay).add_(counts, alpha=1 - decay)
                embed_avg.mul_(decay).add_(torch.zeros(k, d).index_add_(0, index, zf.detach()), alpha=1 - decay)
                codebook.copy_(embed_avg / (cluster_size[:, None] + 1e-5))
            dead = (usage < threshold).nonzero().flatten()
            if threshold > 0 and len(dead):
                fresh = zf.detach()[torch.randint(len(zf), (len(dead),), generator=generator)]
                codebook[dead], embed_avg[dead], cluster_size[dead], usage[dead] = fresh, fresh, 1.0, 1.0
    with torch.no_grad():
        errors, used = 0.0, torch.zeros(k, dtype=torch.bool)
        for i in range(0, len(x_test), 256):
            x = x_test[i:i + 256]
            index = model.encode_indices(x)
            used[index.flatten()] = True
            errors += F.mse_loss(model.decode_indices(index), x, reduction="sum").item()
    return model, {"test_normalized_mse": errors / x_test.numel() / variance, "test_codes_used": int(used.sum())}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True)
    ap.add_argument("--train-limit", type=int, default=None, help="images encoded for the prior (default: all)")
    ap.add_argument("--test-limit", type=int, default=None, help="test images encoded for the prior (default: all)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    config = json.load(open(args.config))
    prior = config.get("prior", {})
    torch.manual_seed(config.get("seed", 0))
    data_dir = config.get("data_dir", "/usr/share/datasets/fashion-mnist")
    pad = config.get("pad", True)
    report, start = {"config": args.config, "threads": args.threads}, time.time()

    x_train, y_train = fashion(data_dir, "train", pad, config.get("train_limit"))
    x_test, y_test = fashion(data_dir, "t10k", pad, config.get("test_limit"))
    model, figures = train_vqvae(config, x_train, x_test)
    report.update(figures, vqvae_seconds=time.time() - start)

    stage = time.time()
    x_train, y_train = fashion(data_dir, "train", pad, args.train_limit)
    x_test, y_test = fashion(data_dir, "t10k", pad, args.test_limit)
    encode = lambda x: torch.cat([model.encode_indices(x[i:i + 256]) for i in range(0, len(x), 256)])
    z_train, z_test = encode(x_train), encode(x_test)
    report["latents_seconds"] = time.time() - stage

    stage = time.time()
    k, batch = config["n_embeddings"], prior.get("batch_size", 32)
    classes = 10 if prior.get("class_conditioning", True) else 0
    pixelcnn = GatedPixelCNN(k, prior.get("dim", 64), prior.get("n_layers", 15), classes, prior.get("head_hidden", 0))
    opt = torch.optim.Adam(pixelcnn.parameters(), lr=prior.get("learning_rate", 3e-4))
    per_epoch = math.ceil(len(z_train) / batch)
    updates = min(prior.get("n_updates") or 1 << 62, prior.get("epochs", 2) * per_epoch)
    perm, pos = torch.randperm(len(z_train)), 0
    for _ in range(updates):
        if pos + batch > len(perm):
            perm, pos = torch.randperm(len(z_train)), 0
        b = perm[pos:pos + batch]
        pos += batch
        loss = F.cross_entropy(pixelcnn(z_train[b], y_train[b] if classes else None), z_train[b])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    with torch.no_grad():
        nll = sum(F.cross_entropy(pixelcnn(z_test[i:i + 500], y_test[i:i + 500] if classes else None),
                                  z_test[i:i + 500], reduction="sum").item() for i in range(0, len(z_test), 500))
    report.update(prior_updates=updates, test_bits_per_latent=nll / z_test.numel() / math.log(2),
                  prior_seconds=time.time() - stage)

    stage = time.time()
    height, width = z_train.shape[1:]
    with torch.no_grad():
        grids = torch.zeros(100, height, width, dtype=torch.long)
        labels = torch.arange(100) // 10 % max(classes, 1)
        for i in range(height):
            for j in range(width):
                logits = pixelcnn(grids, labels if classes else None)[:, :, i, j]
                grids[:, i, j] = torch.multinomial(F.softmax(logits, 1), 1).squeeze(1)
        model.decode_indices(grids)
    report.update(sample_seconds=time.time() - stage, total_seconds=time.time() - start)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
