"""Files in other projects' release layouts, written from those projects' module structure (names, order
and shapes, as their ``state_dict()`` and ``torch.save`` leave them), not from our modules: what the import
tests read. jik876/hifi-gan (https://github.com/jik876/hifi-gan): ``g_<steps>``, ``do_<steps>``,
config.json; descriptinc/melgan-neurips (https://github.com/descriptinc/melgan-neurips): bare state_dicts
and a training folder."""

from __future__ import annotations

import torch

TINY = {
    "resblock": "1",
    "upsample_rates": [8, 8, 2, 2],
    "upsample_kernel_sizes": [16, 16, 4, 4],
    "upsample_initial_channel": 32,
    "resblock_kernel_sizes": [3, 7, 11],
    "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5], [1, 3, 5]],
    "num_mels": 100,
    "n_fft": 1024,
    "hop_size": 256,
    "win_size": 1024,
    "sampling_rate": 24000,
    "fmin": 0,
    "fmax": 12000,
    "fmax_for_loss": None,
    "learning_rate": 0.0002,
    "adam_b1": 0.8,
    "adam_b2": 0.99,
    "lr_decay": 0.999,
    "batch_size": 16,
    "segment_size": 8192,
}


def _weight_normed(key: str, out_channels: int, in_channels: int, kernel: int, transposed=False) -> dict:
    """A hook-weight-normed conv's entries (torch.nn.utils.weight_norm, dim 0)."""
    shape = (in_channels, out_channels, kernel) if transposed else (out_channels, in_channels, kernel)
    return {
        f"{key}.bias": torch.randn(out_channels) * 0.1,
        f"{key}.weight_g": torch.rand(shape[0], 1, 1) + 0.5,
        f"{key}.weight_v": torch.randn(shape),
    }


def official_generator(h: dict) -> dict[str, torch.Tensor]:
    """The official Generator(h)'s state_dict in its order: conv_pre, every ups (one ModuleList), every
    resblock (K per stage, one flat ModuleList), conv_post."""
    torch.manual_seed(0)
    width, state = h["upsample_initial_channel"], {}
    state.update(_weight_normed("conv_pre", width, h["num_mels"], 7))
    kernels = h["resblock_kernel_sizes"]
    widths = [width // 2**i for i in range(len(h["upsample_kernel_sizes"]) + 1)]
    for i, kernel in enumerate(h["upsample_kernel_sizes"]):
        state.update(_weight_normed(f"ups.{i}", widths[i + 1], widths[i], kernel, transposed=True))
    groups = ["convs1", "convs2"] if h["resblock"] == "1" else ["convs"]
    for i, channels in enumerate(widths[1:]):
        for j, (k, dilations) in enumerate(zip(kernels, h["resblock_dilation_sizes"], strict=True)):
            for group in groups:
                for n in range(len(dilations)):
                    state.update(
                        _weight_normed(f"resblocks.{i * len(kernels) + j}.{group}.{n}", channels, channels, k)
                    )
    state.update(_weight_normed("conv_post", 1, widths[-1], 7))
    return state


def _spectral_normed(key: str, out_channels: int, in_channels: int, kernel: int) -> dict:
    """A hook-spectral-normed conv's entries (torch.nn.utils.spectral_norm): the parameters bias and
    weight_orig, then the buffers u and v."""
    return {
        f"{key}.bias": torch.randn(out_channels) * 0.1,
        f"{key}.weight_orig": torch.randn(out_channels, in_channels, kernel) * 0.1,
        f"{key}.weight_u": torch.nn.functional.normalize(torch.randn(out_channels), dim=0),
        f"{key}.weight_v": torch.nn.functional.normalize(torch.randn(in_channels * kernel), dim=0),
    }


def official_mpd(periods: int, channels: list[int]) -> dict[str, torch.Tensor]:
    """The official MultiPeriodDiscriminator's state_dict at widths ``channels`` (officially 32, 128, 512,
    1024, 1024): per period, (5, 1) convs, then a (3, 1) conv_post; Conv2d weights [out, in, k, 1]."""
    state = {}
    for d in range(periods):
        sizes = [1, *channels]
        for k, (c_in, c_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            for name, value in _weight_normed(f"discriminators.{d}.convs.{k}", c_out, c_in, 5).items():
                state[name] = value.unsqueeze(-1) if value.dim() == 3 else value
        for name, value in _weight_normed(f"discriminators.{d}.conv_post", 1, channels[-1], 3).items():
            state[name] = value.unsqueeze(-1) if value.dim() == 3 else value
    return state


def official_msd(scales: int, layers: list[list[int]]) -> dict[str, torch.Tensor]:
    """The official MultiScaleDiscriminator's state_dict with conv ``layers`` (out, kernel, stride, groups):
    scale 0 spectral-normed, the others weight-normed."""
    state = {}
    for d in range(scales):
        wrap = _spectral_normed if d == 0 else _weight_normed
        c_in = 1
        for k, (c_out, kernel, _, groups) in enumerate(layers):
            state.update(wrap(f"discriminators.{d}.convs.{k}", c_out, c_in // groups, kernel))
            c_in = c_out
        state.update(wrap(f"discriminators.{d}.conv_post", 1, c_in, 3))
    return state


def parameter_names(state: dict[str, torch.Tensor]) -> list[str]:
    """The parameters of a hook-normed state_dict, in order: every key but spectral norm's u / v buffers."""
    return [
        k
        for k in state
        if not (k.endswith(("weight_u", "weight_v")) and k.rpartition(".")[0] + ".weight_orig" in state)
    ]


def adam_state(
    names: list[str], shapes: dict[str, torch.Size], step: int, lr: float, initial_lr: float, scale: float
) -> dict:
    """An Adam(W) ``state_dict()`` over ``names`` (by position) at ``step`` and learning rate ``lr``, every
    moment of its own value: parameter i's first moment is (i + 1) x ``scale`` x a random sign per element,
    its second moment ``scale``^2 x 100."""
    state = {}
    for i, name in enumerate(names):
        sign = torch.randint(0, 2, shapes[name]).float() * 2 - 1
        state[i] = {
            "step": torch.tensor(float(step)),
            "exp_avg": (i + 1) * scale * sign,
            "exp_avg_sq": torch.full(shapes[name], scale**2 * 100.0),
        }
    group = {
        "lr": lr,
        "betas": (0.8, 0.99),
        "eps": 1e-8,
        "weight_decay": 0.01,
        "amsgrad": False,
        "initial_lr": lr,
        "params": list(range(len(names))),
    }
    return {"state": state, "param_groups": [group]}


def official_melgan_generator(n_mels: int, ngf: int, residual: int) -> dict[str, torch.Tensor]:
    """melgan-neurips' ``Generator(n_mels, ngf, residual)`` state_dict: one Sequential ``model.<index>``:
    1 the input conv, per ratio (8, 8, 2, 2) a LeakyReLU, the upsampling conv and ``residual`` ResnetBlocks
    (block.2, block.4, shortcut), then the output conv."""
    state, channels, index = {}, ngf * 16, 2
    state.update(_weight_normed("model.1", channels, n_mels, 7))
    for ratio in (8, 8, 2, 2):
        state.update(
            _weight_normed(f"model.{index + 1}", channels // 2, channels, 2 * ratio, transposed=True)
        )
        channels //= 2
        for j in range(residual):
            block = f"model.{index + 2 + j}"
            state.update(_weight_normed(f"{block}.block.2", channels, channels, 3))
            state.update(_weight_normed(f"{block}.block.4", channels, channels, 1))
            state.update(_weight_normed(f"{block}.shortcut", channels, channels, 1))
        index += 2 + residual
    state.update(_weight_normed(f"model.{index + 2}", 1, channels, 7))
    return state


def official_melgan_discriminator(
    num_d: int, ndf: int, n_layers: int, factor: int
) -> dict[str, torch.Tensor]:
    """melgan-neurips' ``Discriminator(num_D, ndf, n_layers, factor)`` state_dict:
    ``model.disc_<i>.model.layer_<n>``, the convs at .1 (layer 0), .0 (the strided and the 5-tap layers)
    and directly (the output layer)."""
    state = {}
    for d in range(num_d):
        at = f"model.disc_{d}.model"
        state.update(_weight_normed(f"{at}.layer_0.1", ndf, 1, 15))
        nf = ndf
        for n in range(1, n_layers + 1):
            nf_prev, nf = nf, min(nf * factor, 1024)
            state.update(_weight_normed(f"{at}.layer_{n}.0", nf, nf_prev // (nf_prev // 4), factor * 10 + 1))
        out = min(nf * 2, 1024)
        state.update(_weight_normed(f"{at}.layer_{n_layers + 1}.0", out, nf, 5))
        state.update(_weight_normed(f"{at}.layer_{n_layers + 2}", 1, out, 3))
    return state


# args.yml as melgan-neurips' train.py writes it: yaml.dump of the argparse Namespace (tags and all)
MELGAN_ARGS = """!!python/object:argparse.Namespace
batch_size: 2
cond_disc: false
data_path: !!python/object/apply:pathlib.PosixPath
- data
- LJSpeech
downsamp_factor: 4
epochs: 3000
lambda_feat: 10
load_path: null
log_interval: 100
n_layers_D: 2
n_mel_channels: 80
n_residual_layers: 3
n_test_samples: 8
ndf: 4
ngf: 4
num_D: 3
save_interval: 1000
save_path: logs/ljspeech
seq_len: 2048
"""
