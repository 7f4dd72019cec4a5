#!/usr/bin/env python3
"""Writes the PyTorch / scikit-image / NumPy golden files of Tests/NNTests/Fixtures/.

Run by hand where torch is installed (tests only read the committed files):

    /work/venv-torch/bin/python tools/make_golden.py

Every file is safetensors; tensors are float32 in PyTorch's NCDHW layout unless noted, scalars
are shape [1] float64, settings are in the string metadata. The op and its parameters are in
each file name. Gradients are those of sum(output * grad_output) for a random grad_output, so a
single file checks input, weight and bias gradients. Keep the total small (< 2 MB).
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.numpy import save_file
from skimage.metrics import structural_similarity

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_model import COUNT_SETTINGS, Stage1Model, parameter_count  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "NNTests", "Fixtures")
torch.set_default_dtype(torch.float32)


def f32(t):
    return np.ascontiguousarray(t.detach().cpu().numpy().astype(np.float32))


def scalar(x):
    return np.array([float(x)], dtype=np.float64)


def save(name, tensors, **meta):
    path = os.path.join(OUT, name + ".safetensors")
    save_file({k: v for k, v in tensors.items()}, path, metadata={k: str(v) for k, v in meta.items()})
    print(f"{name}: {os.path.getsize(path):,} bytes")


def grads_of(out, inputs):
    g = torch.randn_like(out)
    grads = torch.autograd.grad((out * g).sum(), inputs)
    return g, grads


# ---------------------------------------------------------------- layers

def conv3d_case(name, n, cin, cout, size, k, stride, pad, bias):
    x = torch.randn(n, cin, *size, requires_grad=True)
    conv = nn.Conv3d(cin, cout, k, stride=stride, padding=pad, bias=bias)
    params = [x, conv.weight] + ([conv.bias] if bias else [])
    y = conv(x)
    g, grads = grads_of(y, params)
    t = {"x": f32(x), "weight": f32(conv.weight), "y": f32(y), "grad_y": f32(g),
         "grad_x": f32(grads[0]), "grad_weight": f32(grads[1])}
    if bias:
        t["bias"] = f32(conv.bias)
        t["grad_bias"] = f32(grads[2])
    save(name, t, kernel=k, stride=stride, padding=pad, bias=int(bias))


def conv_transpose_case(name, n, cin, cout, size, k, stride, pad):
    x = torch.randn(n, cin, *size, requires_grad=True)
    conv = nn.ConvTranspose3d(cin, cout, k, stride=stride, padding=pad)
    y = conv(x)
    g, grads = grads_of(y, [x, conv.weight, conv.bias])
    save(name, {"x": f32(x), "weight": f32(conv.weight), "bias": f32(conv.bias), "y": f32(y),
                "grad_y": f32(g), "grad_x": f32(grads[0]), "grad_weight": f32(grads[1]),
                "grad_bias": f32(grads[2])}, kernel=k, stride=stride, padding=pad, bias=1)


def batchnorm_case(name, training):
    bn = nn.BatchNorm3d(3)
    with torch.no_grad():
        bn.weight.copy_(torch.rand(3) + 0.5)
        bn.bias.copy_(torch.randn(3))
        bn.running_mean.copy_(torch.randn(3) * 0.1)
        bn.running_var.copy_(torch.rand(3) + 0.5)
        bn.num_batches_tracked.fill_(4)
    before = {k: v.clone() for k, v in bn.state_dict().items()}
    bn.train(training)
    x = (torch.randn(2, 3, 3, 4, 5) * 2 + 1).requires_grad_(True)
    y = bn(x)
    g, grads = grads_of(y, [x, bn.weight, bn.bias])
    t = {"x": f32(x), "weight": f32(bn.weight), "bias": f32(bn.bias), "y": f32(y), "grad_y": f32(g),
         "grad_x": f32(grads[0]), "grad_weight": f32(grads[1]), "grad_bias": f32(grads[2]),
         "running_mean": f32(before["running_mean"]), "running_var": f32(before["running_var"]),
         "num_batches_tracked": before["num_batches_tracked"].numpy().reshape(1).astype(np.int64),
         "running_mean_after": f32(bn.running_mean), "running_var_after": f32(bn.running_var),
         "num_batches_tracked_after": bn.num_batches_tracked.numpy().reshape(1).astype(np.int64)}
    save(name, t, training=int(training), momentum=0.1, eps=1e-5)


def maxpool_case():
    x = torch.randn(2, 3, 7, 8, 9, requires_grad=True)  # continuous values: no ties
    y = F.max_pool3d(x, 3, stride=2, padding=1)
    g, grads = grads_of(y, [x])
    save("maxpool3d_k3_s2_p1", {"x": f32(x), "y": f32(y), "grad_y": f32(g), "grad_x": f32(grads[0])},
         kernel=3, stride=2, padding=1)


def resize_case(name, src, dst):
    x = torch.randn(1, 2, *src, requires_grad=True)
    y = F.interpolate(x, size=dst, mode="trilinear", align_corners=False)
    g, grads = grads_of(y, [x])
    save(name, {"x": f32(x), "y": f32(y), "grad_y": f32(g), "grad_x": f32(grads[0])},
         size=json.dumps(list(dst)), align_corners=0)


def linear_case():
    x = torch.randn(3, 7, requires_grad=True)
    lin = nn.Linear(7, 5)
    y = lin(x)
    g, grads = grads_of(y, [x, lin.weight, lin.bias])
    save("linear_7x5", {"x": f32(x), "weight": f32(lin.weight), "bias": f32(lin.bias), "y": f32(y),
                        "grad_y": f32(g), "grad_x": f32(grads[0]), "grad_weight": f32(grads[1]),
                        "grad_bias": f32(grads[2])})


def attention_case():
    x = torch.randn(2, 16, 3, 4, 5, requires_grad=True)
    att = nn.Sequential(nn.Conv3d(16, 2, 1), nn.ReLU(), nn.Conv3d(2, 1, 1), nn.Sigmoid())
    y = x * att(x)
    ps = [x, att[0].weight, att[0].bias, att[2].weight, att[2].bias]
    g, grads = grads_of(y, ps)
    names = ["x", "0.weight", "0.bias", "2.weight", "2.bias"]
    t = {"y": f32(y), "grad_y": f32(g)}
    for nm, p, gr in zip(names, ps, grads):
        t[nm] = f32(p)
        t["grad_" + nm] = f32(gr)
    save("spatial_attention_c16", t)


# ---------------------------------------------------------------- losses and metrics

RADIUS = 5  # int(truncate * sigma + 0.5) with truncate 3.5, sigma 1.5 (scipy.ndimage)


def gaussian_kernel_1d(sigma=1.5, radius=RADIUS):
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    w = np.exp(-0.5 * x * x / (sigma * sigma))
    return w / w.sum()


def ssim_torch(x, y, data_range=1.0):
    """SSIM of (N, C, D, H, W) volumes exactly as skimage computes it (population covariance,
    mean over the region 5 voxels away from every face), averaged over N and C; differentiable."""
    k = torch.tensor(gaussian_kernel_1d(), dtype=x.dtype)
    n, c = x.shape[:2]

    def filt(v):
        v = v.reshape(n * c, 1, *v.shape[2:])
        v = F.conv3d(v, k.view(1, 1, -1, 1, 1))
        v = F.conv3d(v, k.view(1, 1, 1, -1, 1))
        v = F.conv3d(v, k.view(1, 1, 1, 1, -1))
        return v

    c1 = (0.01 * data_range) ** 2
    c2 = (0.03 * data_range) ** 2
    ux, uy = filt(x), filt(y)
    uxx, uyy, uxy = filt(x * x), filt(y * y), filt(x * y)
    vx, vy, vxy = uxx - ux * ux, uyy - uy * uy, uxy - ux * uy
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    return s.mean()


def ssim_cases():
    """scikit-image SSIM on 3D volumes; the gradient of our formula from torch in float64."""
    rng = np.random.default_rng(5)
    t = {}
    cases = [((1, 2, 12, 13, 14), 1.0), ((2, 1, 12, 12, 12), 1.0), ((1, 1, 11, 12, 20), 1.0),
             ((1, 2, 14, 12, 11), 2.0)]
    for i, (shape, dr) in enumerate(cases):
        x = rng.random(shape).astype(np.float32) * dr
        # y correlated with x so SSIM is well away from 0
        y = np.clip(x + rng.normal(0, 0.1 * dr, shape), 0, dr).astype(np.float32)
        vals = []
        for b in range(shape[0]):
            for ch in range(shape[1]):
                vals.append(structural_similarity(
                    x[b, ch].astype(np.float64), y[b, ch].astype(np.float64), gaussian_weights=True,
                    sigma=1.5, use_sample_covariance=False, data_range=dr))
        xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        ours = ssim_torch(xt, torch.tensor(y, dtype=torch.float64), dr)
        (gx,) = torch.autograd.grad(ours, xt)
        assert abs(ours.item() - np.mean(vals)) < 1e-10, (ours.item(), np.mean(vals))
        t[f"x{i}"] = x
        t[f"y{i}"] = y
        t[f"ssim{i}"] = scalar(np.mean(vals))
        t[f"ssim_per_volume{i}"] = np.array(vals, dtype=np.float64)
        t[f"data_range{i}"] = scalar(dr)
        t[f"grad_x{i}"] = gx.numpy().astype(np.float32)
    save("ssim_skimage_gaussian_s1.5", t, count=len(cases),
         note="skimage structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False) per (N, C) volume; grad_x = d mean SSIM / dx")


def rmse_psnr_case():
    rng = np.random.default_rng(9)
    x = rng.random((2, 2, 5, 4, 3)).astype(np.float32)
    y = (x + rng.normal(0, 0.1, x.shape)).astype(np.float32)
    d = x.astype(np.float64) - y.astype(np.float64)
    per_channel_mse = (d ** 2).mean(axis=(0, 2, 3, 4))
    rmse = math.sqrt((d ** 2).mean())
    w = np.array([2.0, 1.0])
    weighted = math.sqrt((w * per_channel_mse).sum() / w.sum())
    save("rmse_psnr", {"prediction": x, "target": y, "rmse": scalar(rmse),
                       "rmse_per_channel": np.sqrt(per_channel_mse),
                       "psnr_range1": scalar(20 * math.log10(1.0 / rmse)),
                       "weighted_rmse_2_1": scalar(weighted)},
         note="weighted RMSE = sqrt(sum_c w_c MSE_c / sum_c w_c)")


def weighted_rmse_torch(pred, target, weights):
    w = torch.tensor(weights, dtype=pred.dtype)
    mse_c = ((pred - target) ** 2).mean(dim=(0, 2, 3, 4))
    return torch.sqrt((w * mse_c).sum() / w.sum())


# ---------------------------------------------------------------- whole model

def model_case(name, **kw):
    torch.manual_seed(11)
    m = Stage1Model(size=32, dropout_rate=0.0, **kw)
    # non-trivial BN affine parameters and biases, so their gradients are checked too
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm3d):
                mod.weight.uniform_(0.8, 1.2)
                mod.bias.uniform_(-0.1, 0.1)
            elif isinstance(mod, (nn.Conv3d, nn.ConvTranspose3d, nn.Linear)) and mod.bias is not None:
                mod.bias.uniform_(-0.05, 0.05)
    state = {k: v.clone() for k, v in m.state_dict().items()}
    # the reference runs in float64 (from the float32 weights and inputs), so the golden values
    # are the exact answer for the stored float32 data and only the engine's float32 rounding is
    # measured; tiny gradients (e.g. conv biases before BatchNorm, analytically 0) stay meaningful
    m = m.double()
    # the input is stored as float16 (exactly: its values are rounded to float16 first) and the
    # target is 1 - input (exact in float32 arithmetic), to keep the file small
    x = torch.rand(2, 2, 32, 32, 32).half().float()
    target = 1 - x
    x, target = x.double(), target.double()
    m.train()
    out = m(x)
    rmse = weighted_rmse_torch(out, target, [2.0, 1.0])
    ssim = ssim_torch(out, target)
    loss = 0.7 * rmse + 0.3 * (1 - ssim)
    named = [(k, p) for k, p in m.named_parameters()]
    grads = torch.autograd.grad(loss, [p for _, p in named])
    t = {"input": x.half().numpy(), "output": f32(out), "loss": scalar(loss.item()),
         "rmse": scalar(rmse.item()), "ssim": scalar(ssim.item())}
    for k, v in state.items():
        t["state." + k] = v.numpy().astype(np.int64).reshape(-1) if v.dtype == torch.int64 else f32(v)
    for (k, _), g in zip(named, grads):
        t["grad." + k] = f32(g)
    for k, v in m.state_dict().items():
        if "running" in k or "num_batches" in k:
            t["after." + k] = v.numpy().astype(np.int64).reshape(-1) if v.dtype == torch.int64 else f32(v)
    m.eval()
    with torch.no_grad():
        t["output_eval_sample0_channel0"] = f32(m(x)[0, 0])
    save(name, t, settings=json.dumps(kw), loss="0.7*weighted_rmse(2,1) + 0.3*(1-ssim)", target="1 - input",
         parameters=parameter_count(m))


# ---------------------------------------------------------------- optimizers and schedules

def optimizer_case(opt_kind, sched_kind, wd_ramp=False):
    torch.manual_seed(3)
    params = {"w": torch.randn(3, 4, requires_grad=True), "b": torch.randn(5, requires_grad=True)}
    t = {"init." + k: f32(p) for k, p in params.items()}
    base_lr = 0.01
    if opt_kind == "adamw":
        opt = torch.optim.AdamW(params.values(), lr=base_lr, betas=(0.9, 0.98), eps=1e-8, weight_decay=0.01)
    else:
        opt = torch.optim.SGD(params.values(), lr=base_lr, momentum=0.9, weight_decay=0.01,
                              nesterov=opt_kind == "sgd_nesterov")
    steps = 5
    phases = [(2, 1e-2), (2, 5e-3), (1, 1e-3)]
    metrics = [1.0, 1.0, 0.99995, 0.9, 0.95]
    if sched_kind == "constant":
        sched = None
    elif sched_kind == "plateau":
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", patience=1, factor=0.5,
                                                           min_lr=1e-3, threshold=1e-4, cooldown=1)
    elif sched_kind == "phases":
        def phase_lr(epoch):
            end = 0
            for ep, lr in phases:
                end += ep
                if epoch < end:
                    return lr / base_lr
            return phases[-1][1] / base_lr
        sched = torch.optim.lr_scheduler.LambdaLR(opt, phase_lr)
    elif sched_kind == "onecycle":
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=steps)
    elif sched_kind == "cosine_warmup":
        warmup = 2

        def cos_lambda(step):
            if step < warmup:
                return step / max(1, warmup)
            progress = (step - warmup) / max(1, steps - warmup)
            return max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))
        sched = torch.optim.lr_scheduler.LambdaLR(opt, cos_lambda)
    lrs, wds = [], []
    for s in range(steps):
        for k, p in params.items():
            p.grad = torch.randn_like(p)
            t[f"grad.{s}.{k}"] = f32(p.grad)
        if wd_ramp:  # linear 0.05 -> 0.01 over 5 epochs, one step per epoch
            opt.param_groups[0]["weight_decay"] = 0.05 + (0.01 - 0.05) * s / (steps - 1)
        lrs.append(opt.param_groups[0]["lr"])
        wds.append(opt.param_groups[0]["weight_decay"])
        opt.step()
        if sched_kind == "plateau":
            sched.step(metrics[s])
        elif sched is not None:
            sched.step()
        for k, p in params.items():
            t[f"param.{s}.{k}"] = f32(p)
    t["lr"] = np.array(lrs, dtype=np.float64)
    t["weight_decay"] = np.array(wds, dtype=np.float64)
    t["metric"] = np.array(metrics, dtype=np.float64)
    suffix = "_wdlinear" if wd_ramp else ""
    save(f"optim_{opt_kind}_{sched_kind}{suffix}", t, steps=steps, base_lr=base_lr)


def param_counts():
    rows = []
    for s in COUNT_SETTINGS:
        m = Stage1Model(base=s["base"], latent=s["latent"], blocks=s["blocks"], attention=s["attention"], size=s["size"])
        sd = m.state_dict()
        rows.append(dict(s, parameters=parameter_count(m), state_dict={k: list(v.shape) for k, v in sd.items()}))
    path = os.path.join(OUT, "param_counts.json")
    with open(path, "w") as f:
        json.dump(rows, f, indent=1, sort_keys=True)
    print(f"param_counts.json: {os.path.getsize(path):,} bytes")


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    conv3d_case("conv3d_k3_s2_p1_bias_odd", 2, 3, 4, (5, 6, 7), 3, 2, 1, True)
    conv3d_case("conv3d_k3_s1_p1_nobias", 1, 4, 5, (4, 5, 6), 3, 1, 1, False)
    conv3d_case("conv3d_k7_s2_p3_nobias", 1, 2, 3, (9, 8, 7), 7, 2, 3, False)
    conv3d_case("conv3d_k1_s2_p0_nobias", 2, 3, 5, (5, 5, 6), 1, 2, 0, False)
    conv_transpose_case("conv_transpose3d_k4_s2_p1", 2, 4, 3, (3, 4, 5), 4, 2, 1)
    batchnorm_case("batchnorm3d_train", True)
    batchnorm_case("batchnorm3d_eval", False)
    maxpool_case()
    resize_case("trilinear_5x6x7_to_8x8x8", (5, 6, 7), (8, 8, 8))
    resize_case("trilinear_8x8x8_to_5x6x7", (8, 8, 8), (5, 6, 7))
    linear_case()
    attention_case()
    ssim_cases()
    rmse_psnr_case()
    model_case("model_b1_l16_s32_2blocks_attention13", base=1, latent=16, blocks=2, attention=[True, False, True, False])
    for opt in ["adamw", "sgd"]:
        for sched in ["constant", "plateau", "phases", "onecycle", "cosine_warmup"]:
            optimizer_case(opt, sched)
    optimizer_case("adamw", "constant", wd_ramp=True)
    for sched in ["constant", "onecycle"]:
        optimizer_case("sgd_nesterov", sched)
    param_counts()
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"total: {total:,} bytes")


if __name__ == "__main__":
    main()
