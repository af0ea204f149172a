"""Layers shared by the GAN families."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import weight_norm


def wn_conv1d(*args, **kwargs) -> nn.Module:
    """Weight-normed Conv1d (parametrization API; the hook-based one is deprecated)."""
    return weight_norm(nn.Conv1d(*args, **kwargs))


def wn_conv_transpose1d(*args, **kwargs) -> nn.Module:
    """Weight-normed ConvTranspose1d."""
    return weight_norm(nn.ConvTranspose1d(*args, **kwargs))


def remove_weight_norm(module: nn.Module) -> nn.Module:
    """Bake every parametrization (weight norm, spectral norm) into a plain weight, in place.

    At inference the weight is then not recomputed on every forward. Safe on a ``copy.deepcopy`` of a
    parametrized module: torch's deepcopy shares the generated parametrized class between original and copy,
    and ``remove_parametrizations`` deletes the property from that class, which would break the original.
    Each module is therefore moved onto a private copy of its class first. Returns ``module`` for chaining.
    """
    for sub in list(module.modules()):
        if parametrize.is_parametrized(sub):
            cls = type(sub)
            sub.__class__ = type(cls.__name__, cls.__bases__, dict(cls.__dict__))
            for name in list(sub.parametrizations):
                parametrize.remove_parametrizations(sub, name, leave_parametrized=True)
    return module


# --- Inference kernels on channels-last [B, C, 1, T] signals ---
# 1-D signals are carried as 2-D channels-last tensors because oneDNN runs those convolutions without layout
# reorders (for MelGAN's shapes: convs 1.1-2x faster, transposed convs 2-3.5x). On CPU the activations and
# residual adds are fused into the convolutions as oneDNN post-ops; elsewhere the helpers use plain torch ops.


def to_channels_last_2d(x: torch.Tensor) -> torch.Tensor:
    """[B, C, T] -> [B, C, 1, T] stored channels-last (time-major, channels contiguous)."""
    return x.unsqueeze(2).contiguous(memory_format=torch.channels_last)


def _onednn(x: torch.Tensor) -> bool:
    """Whether the fused oneDNN ops can take ``x`` (CPU, fp32, or bf16 where the CPU supports it)."""
    if x.device.type != "cpu" or not torch.backends.mkldnn.is_available():
        return False
    if x.dtype == torch.bfloat16:
        return torch.ops.mkldnn._is_mkldnn_bf16_supported()
    return x.dtype == torch.float32


def conv_cl(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    padding: int = 0,
    dilation: int = 1,
    activation: str = "none",
    slope: float = 0.2,
) -> torch.Tensor:
    """Stride-1 conv over time of a channels-last signal, then ``activation``: none, leaky_relu or tanh."""
    if _onednn(x):
        scalars = [slope] if activation == "leaky_relu" else []
        return torch.ops.mkldnn._convolution_pointwise(
            x, weight, bias, [0, padding], [1, 1], [1, dilation], 1, activation, scalars, ""
        )
    y = F.conv2d(x, weight, bias, padding=(0, padding), dilation=(1, dilation))
    if activation == "leaky_relu":
        return F.leaky_relu(y, slope, inplace=True)
    return torch.tanh_(y) if activation == "tanh" else y


def conv_cl_add_(acc: torch.Tensor, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``acc += conv1x1(x)`` without materialising the conv output (oneDNN sum post-op on CPU)."""
    if _onednn(x):
        return torch.ops.mkldnn._convolution_pointwise_.binary(
            acc, x, weight, None, [0, 0], [1, 1], [1, 1], 1, "add", None, None, [], None
        )
    return acc.add_(F.conv2d(x, weight))


def leaky_relu_reflect_pad_cl(x: torch.Tensor, pad: int, slope: float) -> torch.Tensor:
    """LeakyReLU then reflection padding of the time axis, written in one pass into a preallocated buffer.

    Reflection commutes with an elementwise op, so only the interior is computed; the edges are copied.
    """
    t = x.shape[-1]
    if pad >= t:
        raise ValueError(f"reflection padding {pad} needs more than {pad} time steps, got {t}")
    out = torch.empty(
        (*x.shape[:-1], t + 2 * pad), dtype=x.dtype, device=x.device, memory_format=torch.channels_last
    )
    torch.ops.aten.leaky_relu.out(x, slope, out=out[..., pad : pad + t])
    if pad:
        out[..., :pad] = out[..., pad + 1 : 2 * pad + 1].flip(-1)
        out[..., t + pad :] = out[..., t - 1 : t + pad - 1].flip(-1)
    return out


# --- Training on channels-last [B, C, 1, T] signals (autograd-friendly) ---
# The modules keep their Conv1d / ConvTranspose1d weights (and weight-norm parametrizations); only the
# activations change layout, and each conv runs as its 2-D equivalent with a (1, k) kernel.


def channels_last_pays(x: torch.Tensor) -> bool:
    """Whether to carry a network's signals channels-last: where oneDNN runs the convolutions (CPU).

    Elsewhere (CUDA, float64) the plain [B, C, T] layout is kept: the gains were measured with oneDNN only.
    """
    return _onednn(x)


def conv_module_cl(conv: nn.Conv1d | nn.ConvTranspose1d, x: torch.Tensor) -> torch.Tensor:
    """``conv`` applied to a channels-last [B, C, 1, T] signal, through its (parametrized) weight."""
    weight = conv.weight.unsqueeze(2)
    stride, padding, dilation = (1, conv.stride[0]), (0, conv.padding[0]), (1, conv.dilation[0])
    if isinstance(conv, nn.ConvTranspose1d):
        out_pad = (0, conv.output_padding[0])
        return F.conv_transpose2d(x, weight, conv.bias, stride, padding, out_pad, conv.groups, dilation)
    return F.conv2d(x, weight, conv.bias, stride, padding, dilation, conv.groups)


def reflect_pad_cl(x: torch.Tensor, pad: int) -> torch.Tensor:
    """Reflection padding of the time axis; the 2-D op keeps the channels-last layout."""
    return F.pad(x, (pad, pad, 0, 0), mode="reflect")
