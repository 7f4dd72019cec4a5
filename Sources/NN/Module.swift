// Layers, the Stage 1 autoencoder built from a model description, losses, metrics, optimizers, LR and weight-decay schedules, safetensors checkpoints. Imports Tensor only.
