"""The classic PyTorch VQ-VAE repo's module trees, so that the toolkit's checkpoints load with load_state_dict.

VQVAE follows github.com/MishaLaskin/vqvae's models/ (encoder.conv_stack, pre_quantization_conv,
vector_quantization.embedding, decoder.inverse_conv_stack), with its known bug fixed: each residual layer has its
own weights. GatedPixelCNN follows that repo's pixelcnn/models.py names (embedding, layers.<i>.vert_stack,
horiz_stack, vert_to_horiz, horiz_resid, class_cond_embedding, output_conv) with the semantics the toolkit
implements: vertical stack over rows i-k//2..i (mask A: rows above only), horizontal over columns j-k//2..j (mask A:
left only), vert_to_horiz of the vertical pre-activation added to the horizontal one, tanh*sigmoid gates with the
class embedding added, residual on the horizontal stack after the first layer.

    from safetensors.torch import load_file
    model = VQVAE(in_channels=1); model.load_state_dict(weights(load_file("run/checkpoints/vqvae.safetensors"), model))
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def weights(state, model):
    """The tensors of a toolkit checkpoint that are the model's parameters (the checkpoint also holds Adam's
    moments, generator states and, with EMA updates, the codebook's moving averages)."""
    names = model.state_dict().keys()
    return {k: v for k, v in state.items() if k in names}


class ResidualLayer(nn.Module):
    def __init__(self, h_dim, res_h_dim):
        super().__init__()
        self.res_block = nn.Sequential(nn.ReLU(), nn.Conv2d(h_dim, res_h_dim, 3, 1, 1, bias=False), nn.ReLU(),
                                       nn.Conv2d(res_h_dim, h_dim, 1, 1, bias=False))

    def forward(self, x):
        return x + self.res_block(x)


class ResidualStack(nn.Module):
    def __init__(self, h_dim, res_h_dim, n_res_layers):
        super().__init__()
        self.stack = nn.ModuleList([ResidualLayer(h_dim, res_h_dim) for _ in range(n_res_layers)])

    def forward(self, x):
        for layer in self.stack:
            x = layer(x)
        return F.relu(x)


class Encoder(nn.Module):
    def __init__(self, in_dim, h_dim, n_res_layers, res_h_dim):
        super().__init__()
        self.conv_stack = nn.Sequential(
            nn.Conv2d(in_dim, h_dim // 2, 4, 2, 1), nn.ReLU(), nn.Conv2d(h_dim // 2, h_dim, 4, 2, 1), nn.ReLU(),
            nn.Conv2d(h_dim, h_dim, 3, 1, 1), ResidualStack(h_dim, res_h_dim, n_res_layers))

    def forward(self, x):
        return self.conv_stack(x)


class Decoder(nn.Module):
    def __init__(self, in_dim, h_dim, n_res_layers, res_h_dim, out_dim):
        super().__init__()
        self.inverse_conv_stack = nn.Sequential(
            nn.ConvTranspose2d(in_dim, h_dim, 3, 1, 1), ResidualStack(h_dim, res_h_dim, n_res_layers),
            nn.ConvTranspose2d(h_dim, h_dim // 2, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(h_dim // 2, out_dim, 4, 2, 1))

    def forward(self, x):
        return self.inverse_conv_stack(x)


class VectorQuantizer(nn.Module):
    def __init__(self, n_e, e_dim, beta):
        super().__init__()
        self.n_e, self.e_dim, self.beta = n_e, e_dim, beta
        self.embedding = nn.Embedding(n_e, e_dim)

    def indices(self, z):
        """z: (B, D, H, W) -> (B, H, W) nearest codes."""
        zf = z.permute(0, 2, 3, 1).reshape(-1, self.e_dim)
        e = self.embedding.weight
        distance = (zf ** 2).sum(1, keepdim=True) + (e ** 2).sum(1) - 2 * zf @ e.t()
        return distance.argmin(1).view(z.shape[0], z.shape[2], z.shape[3])

    def lookup(self, idx):
        return self.embedding(idx).permute(0, 3, 1, 2)


class VQVAE(nn.Module):
    def __init__(self, in_channels=1, h_dim=128, res_h_dim=32, n_res_layers=2, n_embeddings=512, embedding_dim=64,
                 beta=0.25):
        super().__init__()
        self.encoder = Encoder(in_channels, h_dim, n_res_layers, res_h_dim)
        self.pre_quantization_conv = nn.Conv2d(h_dim, embedding_dim, 1, 1)
        self.vector_quantization = VectorQuantizer(n_embeddings, embedding_dim, beta)
        self.decoder = Decoder(embedding_dim, h_dim, n_res_layers, res_h_dim, in_channels)

    @torch.no_grad()
    def encode_indices(self, x):
        return self.vector_quantization.indices(self.pre_quantization_conv(self.encoder(x)))

    @torch.no_grad()
    def decode_indices(self, idx):
        return self.decoder(self.vector_quantization.lookup(idx))


class GatedMaskedConv2d(nn.Module):
    def __init__(self, mask_type, dim, kernel, residual, n_classes):
        super().__init__()
        self.mask_type, self.kernel, self.residual = mask_type, kernel, residual
        self.class_cond_embedding = nn.Embedding(n_classes, 2 * dim) if n_classes > 0 else None
        self.vert_stack = nn.Conv2d(dim, 2 * dim, (kernel // 2 + 1, kernel))
        self.vert_to_horiz = nn.Conv2d(2 * dim, 2 * dim, 1)
        self.horiz_stack = nn.Conv2d(dim, 2 * dim, (1, kernel // 2 + 1))
        self.horiz_resid = nn.Conv2d(dim, dim, 1)

    @staticmethod
    def gate(x, c):
        if c is not None:
            x = x + c[:, :, None, None]
        a, b = x.chunk(2, dim=1)
        return torch.tanh(a) * torch.sigmoid(b)

    def forward(self, x_v, x_h, labels):
        p = self.kernel // 2
        wv, wh = self.vert_stack.weight, self.horiz_stack.weight
        if self.mask_type == "A":  # the own row and the own position are not seen
            wv = torch.cat([wv[:, :, :-1], torch.zeros_like(wv[:, :, -1:])], 2)
            wh = torch.cat([wh[:, :, :, :-1], torch.zeros_like(wh[:, :, :, -1:])], 3)
        v = F.conv2d(F.pad(x_v, (p, p, p, 0)), wv, self.vert_stack.bias)
        h = F.conv2d(F.pad(x_h, (p, 0, 0, 0)), wh, self.horiz_stack.bias) + self.vert_to_horiz(v)
        c = self.class_cond_embedding(labels) if self.class_cond_embedding is not None else None
        out_h = self.horiz_resid(self.gate(h, c))
        return self.gate(v, c), out_h + x_h if self.residual else out_h


class GatedPixelCNN(nn.Module):
    def __init__(self, input_dim=512, dim=64, n_layers=15, n_classes=10, head_hidden=0):
        super().__init__()
        self.embedding = nn.Embedding(input_dim, dim)
        self.layers = nn.ModuleList(
            [GatedMaskedConv2d("A" if i == 0 else "B", dim, 7 if i == 0 else 3, i > 0, n_classes) for i in range(n_layers)])
        self.output_conv = (nn.Sequential(nn.Conv2d(dim, head_hidden, 1), nn.ReLU(), nn.Conv2d(head_hidden, input_dim, 1))
                            if head_hidden > 0 else nn.Conv2d(dim, input_dim, 1))

    def forward(self, idx, labels=None):
        x = self.embedding(idx).permute(0, 3, 1, 2)
        x_v, x_h = x, x
        for layer in self.layers:
            x_v, x_h = layer(x_v, x_h, labels)
        return self.output_conv(x_h)
