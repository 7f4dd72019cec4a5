// Float32 tensors, kernels (Conv3d, ConvTranspose3d, BatchNorm, pooling, …) as forward/backward pairs, and reverse-mode autograd over a tape. Imports COpenBLAS only.
