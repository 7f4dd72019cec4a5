#!/usr/bin/env python3
"""NumPy + h5py reference of the synthetic phantom generator (DESIGN.md "Phantom files").

The same algorithm as Sources/Phantoms/Generator.swift, written the straightforward vectorised
NumPy way (each ellipsoid's quadratic form evaluated over its bounding box by broadcasting), with NumPy's own RNG: it is the
speed reference of the benchmark and the writer of h5py phantom files for the interop tests.

  generate_numpy.py generate --count N --size S --seed K            # time generation only
  generate_numpy.py write    --count N --size S --seed K --out DIR  # generate + h5py gzip-4 write
  generate_numpy.py read     --file F [--repeat R]                  # time h5py reading one phantom
Each mode prints one JSON line: {"mode":…, "count":…, "seconds":…, "per_second":…}.
"""
import argparse
import json
import os
import time

import numpy as np


def random_rotation(rng):
    u1, u2, u3 = rng.random(3)
    a, b = np.sqrt(1 - u1), np.sqrt(u1)
    w, x = a * np.sin(2 * np.pi * u2), a * np.cos(2 * np.pi * u2)
    y, z = b * np.sin(2 * np.pi * u3), b * np.cos(2 * np.pi * u3)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


class Grid:
    """Voxel-centre coordinates (mm, origin at the volume centre) along one axis of a size³ volume."""

    def __init__(self, size):
        self.size = size
        self.c = np.arange(size, dtype=np.float64) + 0.5 - size / 2

    def inside(self, centre, axes, rotation):
        """Mask of the ellipsoid over its bounding box: (box slices, boolean mask of the box)."""
        q = rotation @ np.diag(1.0 / axes ** 2) @ rotation.T
        extent = np.sqrt((rotation ** 2) @ (axes ** 2))
        box = []
        for k in range(3):
            lo = max(0, int(np.ceil(centre[k] - extent[k] + self.size / 2 - 0.5)))
            hi = min(self.size - 1, int(np.floor(centre[k] + extent[k] + self.size / 2 - 0.5)))
            box.append(slice(lo, max(lo, hi + 1)))
        dz = (self.c[box[0]] - centre[0])[:, None, None]
        dy = (self.c[box[1]] - centre[1])[None, :, None]
        dx = (self.c[box[2]] - centre[2])[None, None, :]
        form = (q[0, 0] * dz * dz + q[1, 1] * dy * dy + q[2, 2] * dx * dx
                + 2 * (q[0, 1] * dz * dy + q[0, 2] * dz * dx + q[1, 2] * dy * dx))
        return tuple(box), form <= 1.0


def phantom(grid, size, seed, index):
    rng = np.random.default_rng([seed, index])
    s = size / 64
    axes = rng.uniform(25, 30, 3) * s
    rot = random_rotation(rng)
    mua, musp = rng.uniform(0.003, 0.007), rng.uniform(0.78, 1.18)
    tissue = np.zeros((size, size, size), dtype=bool)
    box, mask = grid.inside(np.zeros(3), axes, rot)
    tissue[box] = mask
    labels = tissue.astype(np.uint8)
    gt = np.zeros((2, size, size, size), dtype=np.float32)
    gt[0][tissue] = mua
    gt[1][tissue] = musp
    label = 2
    for _ in range(rng.integers(0, 6)):
        for _ in range(50):
            t_axes = rng.uniform(5, 15, 3) * s
            t_rot = random_rotation(rng)
            while True:
                u = rng.uniform(-1, 1, 3)
                if (u * u).sum() <= 1:
                    break
            centre = rot @ (u * axes)
            box, mask = grid.inside(centre, t_axes, t_rot)
            total = mask.sum()
            inside = mask & tissue[box]
            if total > 0 and inside.sum() >= 0.8 * total:
                fa, fs = rng.uniform(1.5, 3.5), rng.uniform(1.5, 2.5)
                labels[box][inside] = label
                gt[0][box][inside] = mua * fa
                gt[1][box][inside] = musp * fs
                label += 1
                break
    return gt, labels


def write(path, gt, labels, measurements=None):
    import h5py
    os.makedirs(os.path.dirname(path), exist_ok=True)
    d = gt.shape[1:]
    with h5py.File(path, "w") as f:
        f.create_dataset("ground_truth", data=gt, chunks=(1,) + d, compression="gzip", compression_opts=4)
        f.create_dataset("tissue_labels", data=labels, chunks=d, compression="gzip", compression_opts=4)
        for name, value in (measurements or {}).items():
            f.create_dataset(name, data=value)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["generate", "write", "read"])
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out")
    ap.add_argument("--file")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--measurements", action="store_true", help="also write small measurement datasets")
    a = ap.parse_args()

    if a.mode == "read":
        import h5py
        best = float("inf")
        for _ in range(a.repeat):
            t = time.perf_counter()
            with h5py.File(a.file, "r") as f:
                gt = f["ground_truth"][()]
                labels = f["tissue_labels"][()]
            best = min(best, time.perf_counter() - t)
        assert gt.dtype == np.float32 and labels.dtype == np.uint8
        print(json.dumps({"mode": "read", "count": 1, "seconds": best, "per_second": 1 / best}))
        return

    grid = Grid(a.size)
    t = time.perf_counter()
    for k in range(a.count):
        gt, labels = phantom(grid, a.size, a.seed, k)
        if a.mode == "write":
            extra = None
            if a.measurements:
                extra = {"log_amplitude": np.linspace(0, 1, 12, dtype=np.float64).reshape(3, 4),
                         "measurement_links": np.arange(6, dtype=np.int32)}
            write(os.path.join(a.out, f"phantom_{k}", f"phantom_{k}_scan.h5"), gt, labels, extra)
    seconds = time.perf_counter() - t
    print(json.dumps({"mode": a.mode, "count": a.count, "seconds": seconds, "per_second": a.count / seconds}))


if __name__ == "__main__":
    main()
