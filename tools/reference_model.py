#!/usr/bin/env python3
"""Reference PyTorch Stage 1 model (3D CNN autoencoder for NIR-DOT volumes).

This is the model the Swift engine (Sources/NN/Stage1Model.swift) must reproduce: same module
tree, same state_dict() names, same parameter count, same arithmetic. It is used only by
tools/make_golden.py (run by hand where torch is installed) and to print parameter counts and
FLOPs:

    /work/venv-torch/bin/python tools/reference_model.py            # count + FLOPs of the baseline
    /work/venv-torch/bin/python tools/reference_model.py --json      # counts for the settings in
                                                                     # Tests/NNTests/Fixtures/param_counts.json

Choices where the issue text is open (each fixed so that the baseline has 6,977,954 parameters and
3.40 / 0.42 GFLOP at 64^3 / 32^3):
  * ConvTranspose3d layers keep PyTorch's default bias=True (the count needs their 256 biases).
  * deconv5 maps base -> 16 channels and final_conv 16 -> 2 whatever the base (as in the original).
  * The decoder starts at (input_size / 32)^3 voxels: 2^3 at 64^3, 1^3 at 32^3, so the decoder
    output already has the input size and the trilinear resize is a no-op for powers of two.
  * Spatial attention (when enabled for encoder layer i) follows layer i and is named
    encoder.attention{i}: Sequential(Conv3d c->max(1,c//8) 1^3 with bias, ReLU,
    Conv3d ->1 1^3 with bias, Sigmoid); the block output is x * attention(x).
  * Dropout 'element' is nn.Dropout on the pooled 16*base vector; 'spatial' is nn.Dropout3d on
    the layer-4 feature maps (before pooling), so whole feature maps are dropped.
  * Initialisation: xavier_uniform for conv / conv-transpose / linear weights, zero biases,
    BN weight 1 bias 0 (as in the original NIR-DOT code).
"""
import argparse
import json
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


class ResidualBlock(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Conv3d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm3d(cout)
        self.conv2 = nn.Conv3d(cout, cout, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm3d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv3d(cin, cout, 1, stride=stride, bias=False),
                nn.BatchNorm3d(cout),
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


def spatial_attention(c):
    hidden = max(1, c // 8)
    return nn.Sequential(
        nn.Conv3d(c, hidden, 1), nn.ReLU(), nn.Conv3d(hidden, 1, 1), nn.Sigmoid()
    )


class Encoder(nn.Module):
    def __init__(self, in_ch, base, latent, blocks, attention, dropout_kind, dropout_rate):
        super().__init__()
        self.initial_conv = nn.Sequential(
            nn.Conv3d(in_ch, base, 7, stride=2, padding=3, bias=False),
            nn.BatchNorm3d(base),
            nn.ReLU(),
            nn.MaxPool3d(3, stride=2, padding=1),
        )
        chans = [base, base * 2, base * 4, base * 8, base * 16]
        strides = [1, 2, 2, 2]
        self.attention_layers = [i + 1 for i in range(4) if attention[i]]
        for i in range(4):
            layer = [ResidualBlock(chans[i], chans[i + 1], strides[i])]
            layer += [ResidualBlock(chans[i + 1], chans[i + 1]) for _ in range(1, blocks)]
            setattr(self, f"layer{i + 1}", nn.Sequential(*layer))
            if attention[i]:
                setattr(self, f"attention{i + 1}", spatial_attention(chans[i + 1]))
        self.global_avg_pool = nn.AdaptiveAvgPool3d(1)
        self.dropout_kind = dropout_kind
        if dropout_kind == "spatial":
            self.dropout = nn.Dropout3d(dropout_rate)
        else:
            self.dropout = nn.Dropout(dropout_rate)
        self.feature_projection = nn.Linear(base * 16, latent)

    def forward(self, x):
        x = self.initial_conv(x)
        for i in range(1, 5):
            x = getattr(self, f"layer{i}")(x)
            if i in self.attention_layers:
                x = x * getattr(self, f"attention{i}")(x)
        if self.dropout_kind == "spatial":
            x = self.dropout(x)
        x = torch.flatten(self.global_avg_pool(x), 1)
        if self.dropout_kind != "spatial":
            x = self.dropout(x)
        return self.feature_projection(x)


class Decoder(nn.Module):
    def __init__(self, base, latent, out_ch, size):
        super().__init__()
        self.size = size
        self.base = base
        self.init_size = max(1, size // 32)
        self.fc = nn.Linear(latent, base * 16 * self.init_size ** 3)
        chans = [base * 16, base * 8, base * 4, base * 2, base, 16]
        for i in range(5):
            setattr(self, f"deconv{i + 1}", nn.Sequential(
                nn.ConvTranspose3d(chans[i], chans[i + 1], 4, stride=2, padding=1),
                nn.BatchNorm3d(chans[i + 1]),
                nn.ReLU(),
            ))
        self.final_conv = nn.Conv3d(16, out_ch, 3, padding=1)

    def forward(self, z):
        s = self.init_size
        x = self.fc(z).view(z.shape[0], self.base * 16, s, s, s)
        for i in range(1, 6):
            x = getattr(self, f"deconv{i}")(x)
        x = self.final_conv(x)
        if tuple(x.shape[2:]) != (self.size,) * 3:
            x = F.interpolate(x, size=(self.size,) * 3, mode="trilinear", align_corners=False)
        return x


class Stage1Model(nn.Module):
    def __init__(self, base=16, latent=256, blocks=1, attention=(False,) * 4,
                 dropout_kind="element", dropout_rate=0.1, size=64, channels=2):
        super().__init__()
        if isinstance(attention, str):
            attention = (attention == "spatial",) * 4
        self.encoder = Encoder(channels, base, latent, blocks, list(attention), dropout_kind, dropout_rate)
        self.decoder = Decoder(base, latent, channels, size)
        self.reset_parameters()

    def reset_parameters(self):
        for m in self.modules():
            if isinstance(m, (nn.Conv3d, nn.ConvTranspose3d, nn.Linear)):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm3d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.decoder(self.encoder(x))


def parameter_count(model):
    return sum(p.numel() for p in model.parameters())


def forward_flops(model, size, channels=2):
    """Multiply-adds x 2 of convolutions, transposed convolutions and linear layers, one sample."""
    total = [0]

    def hook(m, inp, out):
        if isinstance(m, nn.Conv3d):
            k = m.weight[0].numel()  # cin * kd * kh * kw
            total[0] += 2 * out.numel() * k
        elif isinstance(m, nn.ConvTranspose3d):
            total[0] += 2 * inp[0].numel() * m.weight[0].numel()  # each input voxel scatters cout*k^3
        elif isinstance(m, nn.Linear):
            total[0] += 2 * m.in_features * m.out_features

    hooks = [m.register_forward_hook(hook) for m in model.modules()]
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, channels, size, size, size))
    for h in hooks:
        h.remove()
    return total[0]


# Settings whose counts are committed in Tests/NNTests/Fixtures/param_counts.json.
COUNT_SETTINGS = [
    dict(base=16, latent=256, blocks=1, attention="none", size=64),
    dict(base=16, latent=256, blocks=2, attention="none", size=64),
    dict(base=16, latent=256, blocks=3, attention="none", size=64),
    dict(base=16, latent=256, blocks=1, attention="spatial", size=64),
    dict(base=16, latent=256, blocks=1, attention=[False, True, False, True], size=64),
    dict(base=16, latent=256, blocks=1, attention="none", size=32),
    dict(base=8, latent=128, blocks=2, attention="spatial", size=32),
    dict(base=4, latent=32, blocks=1, attention="none", size=32),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.json:
        rows = []
        for s in COUNT_SETTINGS:
            m = Stage1Model(base=s["base"], latent=s["latent"], blocks=s["blocks"],
                            attention=s["attention"], size=s["size"])
            rows.append(dict(s, parameters=parameter_count(m),
                             state_dict=list(m.state_dict().keys())))
        json.dump(rows, sys.stdout, indent=1)
        print()
        return
    m = Stage1Model()
    print(f"parameters: {parameter_count(m):,}")
    print(f"GFLOP/sample at 64^3: {forward_flops(m, 64) / 1e9:.3f}")
    print(f"GFLOP/sample at 32^3: {forward_flops(Stage1Model(size=32), 32) / 1e9:.3f}")


if __name__ == "__main__":
    main()
