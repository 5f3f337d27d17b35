"""What the interop checks compare: the tensors torch loads from a file, as bytes.

Shared by check_torch_mtd.py and check_mtd_strategies.py (imported from this directory).
"""

import torch


def tensors(obj, prefix=""):
    """Every tensor in a loaded object, by dotted path."""
    out = {}
    if isinstance(obj, torch.Tensor):
        out[prefix] = obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            out.update(tensors(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            out.update(tensors(v, f"{prefix}.{i}" if prefix else str(i)))
    return out


def quantization(t):
    """A quantized tensor's parameters, per tensor or per channel."""
    if t.qscheme() in (torch.per_tensor_affine, torch.per_tensor_symmetric):
        return repr((t.q_scale(), t.q_zero_point())).encode()
    return raw(t.q_per_channel_scales()) + raw(t.q_per_channel_zero_points()) + repr(t.q_per_channel_axis()).encode()


def raw(t):
    """The tensor's bytes in logical order, whatever its dtype and layout."""
    t = t.detach()
    if t.is_quantized:
        return raw(t.int_repr()) + quantization(t)
    if t.is_sparse:
        return raw(t.coalesce().indices()) + raw(t.coalesce().values())
    if t.layout == torch.sparse_csr:
        return raw(t.crow_indices()) + raw(t.col_indices()) + raw(t.values())
    c = t.contiguous().reshape(-1)
    if c.is_complex():
        c = torch.view_as_real(c).reshape(-1)
    if c.dtype == torch.bool:
        c = c.to(torch.uint8)
    return bytes(c.view(torch.uint8).numpy()) if c.numel() else b""


def same_tensors(a, b):
    """The same names, dtypes, shapes and bytes."""
    ta, tb = tensors(a), tensors(b)
    return ta.keys() == tb.keys() and all(
        x.dtype == y.dtype and x.shape == y.shape and raw(x) == raw(y) for x, y in ((ta[k], tb[k]) for k in ta))


def load(p, full=False):
    """torch.load with weights_only=True, or the full unpickler for our own fixtures that need it
    (torch >= 2.6 defaults to weights_only=True, so full is asked for explicitly)."""
    return torch.load(p, weights_only=not full)
