"""Plain state on disk, without pickle: tensors in safetensors, everything else in JSON.

Checkpoints, experiment extras and sweep points hold nested data: dicts, lists, numbers, text,
tensors, NumPy arrays, data frames, and the library's own models. An unpickler (torch's full
loader, pandas' pickle reader) would run whatever code a planted file names; this module stores
the same data so that reading a file can only ever build *data*:

* :func:`encode` turns an object into a JSON tree plus a dict of tensors (arrays and data frames
  become tensors too: frames as Parquet bytes); :func:`decode` turns them back.
* Objects of a class are stored only if the class is on the allow-list (:func:`register_state_class`),
  as their attributes (``vars(obj)``, themselves encoded) and rebuilt with ``cls.__new__`` and
  those attributes: no constructor, ``__setstate__`` or import runs, and a file can name nothing
  but an allowed class, so it can make only data. A ``torch.nn.Module`` is stored as its
  constructor's plain arguments (``args``) and its ``state_dict``, and rebuilt by calling the
  constructor with them, then ``load_state_dict``.
* :func:`save_state` writes one ``.safetensors`` file atomically (the tree is a tensor of UTF-8
  bytes; ``metadata`` such as a checkpoint's fingerprint goes into the header), and
  :func:`read_metadata` reads that header alone, so a caller can refuse a file *before* anything
  in it is deserialised. :func:`dumps_json` / :func:`loads_json` do the same in one JSON text
  (tensors as base64 safetensors bytes) for small records such as sweep points.
"""
from __future__ import annotations

import base64
import io
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import torch
from safetensors import safe_open
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from .cache import atomic_write_bytes

__all__ = ["register_state_class", "encode", "decode", "save_state", "load_state", "read_metadata", "dumps_json",
           "loads_json", "FORMAT"]

FORMAT = "madlib-state/1"
_TREE = "__tree__"  # the tensor that holds the JSON tree


@dataclass(frozen=True)
class _Allowed:
    cls: type
    args: Callable[[Any], dict] | None  # a torch module's constructor arguments


_ALLOWED: dict[str, _Allowed] = {}


def _class_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def register_state_class(cls: type | None = None, *, args: Callable[[Any], dict] | None = None):
    """Allow objects of ``cls`` in stored state (a decorator, or a call with the class).

    A plain class (a dataclass of tensors and numbers, a model) is stored as ``vars(obj)``; a
    ``torch.nn.Module`` needs ``args(module)``: the keyword arguments of its constructor, plain
    data, from which it is rebuilt before its ``state_dict`` is loaded.
    """
    def register(klass: type) -> type:
        if issubclass(klass, torch.nn.Module) and args is None:
            raise ValueError(f"{_class_name(klass)} is a torch module: register it with args=(module -> "
                             "constructor keyword arguments)")
        _ALLOWED[_class_name(klass)] = _Allowed(klass, args)
        return klass

    return register(cls) if cls is not None else register


# --------------------------------------------------------------------------- encoding
class _Encoder:
    def __init__(self):
        self.tensors: dict[str, torch.Tensor] = {}
        self.memo: dict[int, tuple[str, Any]] = {}  # id -> (tensor name, the object, kept alive)

    def tensor(self, value: torch.Tensor) -> dict:
        seen = self.memo.get(id(value))
        if seen is None:
            name = f"t{len(self.tensors)}"
            # a private, contiguous CPU copy: safetensors refuses views that share memory
            self.tensors[name] = value.detach().to("cpu", copy=True).contiguous()
            seen = self.memo[id(value)] = (name, value)
        return {"$": "tensor", "id": seen[0], "device": value.device.type}

    def bytes(self, blob: bytes) -> str:
        name = f"t{len(self.tensors)}"
        self.tensors[name] = torch.frombuffer(bytearray(blob), dtype=torch.uint8) if blob else \
            torch.zeros(0, dtype=torch.uint8)
        return name

    def __call__(self, obj: Any) -> Any:
        if obj is None or isinstance(obj, (bool, str)) or type(obj) is int:
            return obj
        if type(obj) is float:
            return obj if math.isfinite(obj) else {"$": "float", "v": repr(obj)}
        if isinstance(obj, np.generic):
            if obj.dtype.kind not in "biufc" and not isinstance(obj, np.str_):
                raise TypeError(f"cannot store a NumPy scalar of dtype {obj.dtype}")
            item = obj.item()
            return {"$": "npscalar", "dtype": obj.dtype.str, "v": self(item if not isinstance(item, complex)
                                                                         else [item.real, item.imag])}
        if isinstance(obj, torch.Tensor):
            return self.tensor(obj)
        if isinstance(obj, np.ndarray):
            if obj.dtype.kind in "biuf" and obj.dtype.byteorder in "=|<":
                return {"$": "ndarray", "tensor": self.tensor(torch.from_numpy(np.ascontiguousarray(obj))),
                        "dtype": obj.dtype.str}
            return {"$": "ndarray_items", "dtype": obj.dtype.str if obj.dtype.kind in "US" else None,
                    "shape": list(obj.shape), "v": self(obj.ravel().tolist())}
        if isinstance(obj, (list, tuple)):
            items = [self(item) for item in obj]
            return items if type(obj) is list else {"$": "tuple", "v": items}
        if isinstance(obj, dict):
            if all(type(key) is str for key in obj) and "$" not in obj:
                return {key: self(value) for key, value in obj.items()}
            return {"$": "dict", "k": [self(key) for key in obj], "v": [self(value) for value in obj.values()]}
        if isinstance(obj, (set, frozenset)):
            return {"$": "set", "v": [self(item) for item in sorted(obj, key=repr)]}
        if isinstance(obj, torch.device):
            return {"$": "device", "v": str(obj)}
        if isinstance(obj, torch.dtype):
            return {"$": "dtype", "v": str(obj).removeprefix("torch.")}
        if isinstance(obj, pd.DataFrame):
            return {"$": "frame", "id": self.bytes(frame_to_parquet(obj))}
        if isinstance(obj, pd.Series):
            column = "__series__"
            return {"$": "series", "name": self(obj.name), "id": self.bytes(frame_to_parquet(obj.to_frame(column)))}
        allowed = _ALLOWED.get(_class_name(type(obj)))
        if allowed is None or allowed.cls is not type(obj):
            raise TypeError(f"cannot store an object of {_class_name(type(obj))}: only plain data and the classes "
                            "registered with madlib.core.state.register_state_class")
        if allowed.args is not None:
            return {"$": "module", "cls": _class_name(type(obj)), "args": self(allowed.args(obj)),
                    "state": self(dict(obj.state_dict())), "training": bool(obj.training)}
        return {"$": "object", "cls": _class_name(type(obj)), "attrs": self(dict(vars(obj)))}


def encode(obj: Any) -> tuple[Any, dict[str, torch.Tensor]]:
    """``(tree, tensors)``: a JSON-able tree and the tensors it refers to by name."""
    encoder = _Encoder()
    tree = encoder(obj)
    return tree, encoder.tensors


def frame_to_parquet(frame: pd.DataFrame) -> bytes:
    """A data frame as Parquet bytes (pyarrow), its index and dtypes kept."""
    buffer = io.BytesIO()
    frame.to_parquet(buffer, engine="pyarrow")
    return buffer.getvalue()


def frame_from_parquet(blob: bytes) -> pd.DataFrame:
    return pd.read_parquet(io.BytesIO(blob), engine="pyarrow")


# --------------------------------------------------------------------------- decoding
class _Decoder:
    def __init__(self, tensors: dict[str, torch.Tensor], map_location: Any = None):
        self.tensors, self.map_location = tensors, map_location

    def tensor(self, node: dict) -> torch.Tensor:
        value = self.tensors[node["id"]]
        if node.get("device", "cpu") != "cpu" and self.map_location is not None:
            value = value.to(self.map_location)
        return value

    def blob(self, name: str) -> bytes:
        return self.tensors[name].numpy().tobytes()

    def __call__(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self(item) for item in node]
        if not isinstance(node, dict):
            raise ValueError(f"not a stored value: {type(node).__name__}")
        if "$" not in node:
            return {key: self(value) for key, value in node.items()}
        kind = node["$"]
        if kind == "float":
            value = float(node["v"])
            if math.isfinite(value):
                raise ValueError("a stored non-finite float is finite")
            return value
        if kind == "npscalar":
            dtype = np.dtype(node["dtype"])
            if dtype.kind not in "biufcU":
                raise ValueError(f"a stored NumPy scalar of dtype {dtype}")
            value = self(node["v"])
            return dtype.type(complex(*value) if dtype.kind == "c" else value)
        if kind == "tensor":
            return self.tensor(node)
        if kind == "ndarray":
            dtype = np.dtype(node["dtype"])
            array = self.tensor(node["tensor"]).numpy()
            if array.dtype != dtype:
                raise ValueError(f"a stored array of dtype {array.dtype} claims {dtype}")
            return array
        if kind == "ndarray_items":
            dtype = np.dtype(node["dtype"]) if node["dtype"] is not None else object
            if dtype is not object and dtype.kind not in "US":
                raise ValueError(f"a stored array of items of dtype {dtype}")
            items = self(node["v"])
            array = np.empty(len(items), dtype=dtype)
            array[:] = items
            return array.reshape([int(n) for n in node["shape"]])
        if kind == "tuple":
            return tuple(self(item) for item in node["v"])
        if kind == "dict":
            return {self._key(key): self(value) for key, value in zip(node["k"], node["v"], strict=True)}
        if kind == "set":
            return {self._key(item) for item in node["v"]}
        if kind == "device":
            return torch.device(node["v"])
        if kind == "dtype":
            dtype = getattr(torch, str(node["v"]), None)
            if not isinstance(dtype, torch.dtype):
                raise ValueError(f"not a torch dtype: {node['v']!r}")
            return dtype
        if kind == "frame":
            return frame_from_parquet(self.blob(node["id"]))
        if kind == "series":
            series = frame_from_parquet(self.blob(node["id"]))["__series__"]
            series.name = self(node["name"])
            return series
        if kind in ("object", "module"):
            allowed = _ALLOWED.get(str(node["cls"]))
            if allowed is None:
                raise ValueError(f"a stored object of class {node['cls']!r}, which is not on the allow-list")
            if kind == "module":
                if allowed.args is None:
                    raise ValueError(f"{node['cls']!r} is not a torch module")
                with torch.random.fork_rng(devices=[]):  # its random init must not move the global stream
                    module = allowed.cls(**self(node["args"]))
                state = self(node["state"])
                device = next((v.device for v in state.values() if isinstance(v, torch.Tensor)), None)
                if device is not None:
                    module.to(device)
                module.load_state_dict(state)
                return module.train(bool(node["training"]))
            if allowed.args is not None:
                raise ValueError(f"{node['cls']!r} is a torch module, stored as a plain object")
            obj = allowed.cls.__new__(allowed.cls)
            attrs = self(node["attrs"])
            if not isinstance(attrs, dict):
                raise ValueError(f"the attributes of a stored {node['cls']!r} are not a dict")
            obj.__dict__.update(attrs)
            return obj
        raise ValueError(f"unknown stored kind {kind!r}")

    def _key(self, node: Any) -> Any:
        key = self(node)
        if isinstance(key, (list, dict, set)):
            raise ValueError("a stored dict key is not hashable")
        return key


def decode(tree: Any, tensors: dict[str, torch.Tensor], map_location: Any = None) -> Any:
    """The object :func:`encode` made ``(tree, tensors)`` from; tensors that were not on the CPU go to
    ``map_location`` when it is given (else they stay on the CPU)."""
    return _Decoder(tensors, map_location)(tree)


# --------------------------------------------------------------------------- files
def to_bytes(obj: Any, metadata: dict[str, str] | None = None) -> bytes:
    """One safetensors blob holding ``obj`` (its tree as a tensor of UTF-8 JSON) and ``metadata`` (text)."""
    tree, tensors = encode(obj)
    tensors[_TREE] = torch.frombuffer(bytearray(json.dumps(tree, allow_nan=False).encode()), dtype=torch.uint8)
    header = {"format": FORMAT, **{str(k): str(v) for k, v in (metadata or {}).items()}}
    return save_tensors(tensors, metadata=header)


def from_bytes(blob: bytes, map_location: Any = None) -> Any:
    tensors = load_tensors(blob)
    tree = json.loads(tensors.pop(_TREE).numpy().tobytes().decode())
    return decode(tree, tensors, map_location)


def save_state(path: str | os.PathLike, obj: Any, metadata: dict[str, str] | None = None) -> Path:
    """Write ``obj`` to ``path`` (one ``.safetensors`` file) atomically, ``metadata`` in its header."""
    return atomic_write_bytes(path, to_bytes(obj, metadata))


def read_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The header metadata of a state file, read without deserialising anything else (a
    ``ValueError`` when the file is not a state file of this format)."""
    with safe_open(str(path), framework="pt") as handle:
        metadata = dict(handle.metadata() or {})
    if metadata.get("format") != FORMAT:
        raise ValueError(f"{path} is not a madlib state file ({FORMAT})")
    return metadata


def load_state(path: str | os.PathLike, map_location: Any = None) -> Any:
    """The object in a state file written by :func:`save_state`."""
    read_metadata(path)
    return from_bytes(Path(path).read_bytes(), map_location)


def dumps_json(obj: Any) -> str:
    """``obj`` as one JSON text: the tree, and the tensors (if any) as base64 safetensors bytes."""
    tree, tensors = encode(obj)
    record = {"format": FORMAT, "tree": tree}
    if tensors:
        record["tensors"] = base64.b64encode(save_tensors(tensors)).decode("ascii")
    return json.dumps(record, allow_nan=False)


def loads_json(text: str) -> Any:
    record = json.loads(text)
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise ValueError(f"not a madlib state record ({FORMAT})")
    tensors = load_tensors(base64.b64decode(record["tensors"], validate=True)) if "tensors" in record else {}
    return decode(record["tree"], tensors)
