"""Writing ONNX models: the streamed bytes are exactly ``SerializeToString()`` (whatever
fields are set, and through the fallbacks for what cannot be streamed), files are replaced
atomically whatever fails and wherever, the O_DIRECT block writer reproduces any stream of
chunks, and external data is staged with the model.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import archlang  # noqa: E402
from archlang.backends.onnx import atomic, output, save, wire, write_model  # noqa: E402
from archlang.backends.onnx.wire import NotStreamable  # noqa: E402
from archlang.files import WriteError  # noqa: E402

SPECS = Path(__file__).resolve().parent.parent / "specs"
SPEC = """
model M() {
    input x: [B, 3, 8, 8]
    conv = Conv2d(3, 16, 3, padding=1)
    bn = BatchNorm2d(16)
    fc = Linear(16, 256)
    y = bn(conv(x)).mean(dim=[2, 3])
    return fc(y)
}
"""


@pytest.fixture(scope="module")
def small():
    return archlang.to_onnx(SPEC, seed=0)


def rich_model() -> onnx.ModelProto:
    """Every kind of field around the cut points: model fields before and after the graph,
    graph fields before and after the initializers, tensor fields before and after raw data,
    tensors without raw data, an empty one and a packed (4-bit) one."""
    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.standard_normal((5, 4)).astype(np.float32), "w")
    weight.doc_string = "after raw_data"
    weight.metadata_props.add(key="k", value="v")
    listed = helper.make_tensor("b", TensorProto.FLOAT, [5], rng.standard_normal(5).tolist())  # float_data
    empty = numpy_helper.from_array(np.zeros((0, 3), np.float32), "empty")
    packed = helper.make_tensor("q", TensorProto.INT4, [3], [1, -2, 3])
    packed.raw_data = bytes([0x12, 0x03])
    node = helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1, name="gemm")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 5])],
                              initializer=[weight, listed, empty, packed], doc_string="graph doc")
    graph.metadata_props.add(key="g", value="1")
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="test")
    model.doc_string = "before the graph"
    model.metadata_props.add(key="after", value="the graph")
    model.functions.add().name = "f"
    return model


def streamed(proto) -> bytes:
    return b"".join(wire.model_chunks(proto))


# ---- bytes ---------------------------------------------------------------------------------


def test_streamed_bytes_are_serialize_to_string(small):
    gpt = archlang.to_onnx(str(SPECS / "text/gpt2.arch"), "GPT2_Tiny", seed=0, functions=True)
    for proto in (small, gpt):
        assert streamed(proto) == proto.SerializeToString()
    model = rich_model()
    assert streamed(model) == model.SerializeToString()
    assert streamed(onnx.ModelProto(ir_version=8)) == onnx.ModelProto(ir_version=8).SerializeToString()


def test_the_file_holds_exactly_serialize_to_string(tmp_path, small):
    for proto in (small, rich_model()):
        write_model(proto, tmp_path / "m.onnx")
        assert (tmp_path / "m.onnx").read_bytes() == proto.SerializeToString()
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]  # no temporary file left


def test_what_cannot_be_streamed_is_written_by_protobuf(tmp_path, small):
    """Raw data that does not fit its shape, and fields this onnx does not know, would make the
    pieces differ from protobuf's bytes: the writer notices and serialises the model whole."""
    short = onnx.ModelProto()
    short.CopyFrom(small)
    short.graph.initializer[0].raw_data = short.graph.initializer[0].raw_data[:-4]
    unknown = onnx.ModelProto.FromString(small.SerializeToString() + b"\xf8\x07\x05")  # field 127
    for proto in (short, unknown):
        with pytest.raises(NotStreamable):
            streamed(proto)
        write_model(proto, tmp_path / "m.onnx")
        assert (tmp_path / "m.onnx").read_bytes() == proto.SerializeToString()


# ---- atomic replacement --------------------------------------------------------------------


def test_a_failure_mid_write_leaves_no_file_and_an_existing_one_untouched(tmp_path, monkeypatch, small):
    target = tmp_path / "m.onnx"
    calls = []

    def failing_pwrite(fd, data, offset):
        calls.append(offset)
        raise OSError(errno.ENOSPC, "no space left")

    monkeypatch.setattr(output, "BLOCK", 4096)  # several blocks: the failure comes mid-file
    monkeypatch.setattr(output, "_SPARE", [])
    monkeypatch.setattr(output.os, "pwrite", failing_pwrite)
    with pytest.raises(WriteError, match="no space"):
        write_model(small, target)
    assert calls and list(tmp_path.iterdir()) == []
    target.write_bytes(b"previous model")
    with pytest.raises(WriteError, match="no space"):
        write_model(small, target)
    assert target.read_bytes() == b"previous model"
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]


def test_a_failure_while_producing_the_bytes_leaves_nothing(tmp_path, monkeypatch, small):
    def broken(proto, substitutes=None):
        yield b"\x08\x08"
        raise RuntimeError("serialiser broke")

    monkeypatch.setattr(save, "model_chunks", broken)
    with pytest.raises(RuntimeError):
        write_model(small, tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == []


def test_replacing_a_file_keeps_other_links_and_symlinks_intact(tmp_path, small):
    """The replaced file is released in the background; a hard link to it still has the old
    bytes, and writing through a symlinked name replaces the link, as os.replace does."""
    target, link = tmp_path / "m.onnx", tmp_path / "old.onnx"
    target.write_bytes(b"old")
    os.link(target, link)
    write_model(small, target)
    assert link.read_bytes() == b"old" and target.read_bytes() == small.SerializeToString()
    elsewhere = tmp_path / "elsewhere.onnx"
    elsewhere.write_bytes(b"kept")
    alias = tmp_path / "alias.onnx"
    alias.symlink_to(elsewhere)
    write_model(small, alias)
    assert elsewhere.read_bytes() == b"kept" and not alias.is_symlink()


# ---- the block writer ----------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_the_block_writer_reproduces_any_stream_of_chunks(tmp_path, monkeypatch, seed):
    monkeypatch.setattr(output, "BLOCK", 3 * output.ALIGN)
    monkeypatch.setattr(output, "_SPARE", [])
    rng = np.random.default_rng(seed)
    chunks = [rng.integers(0, 256, int(n), dtype=np.uint8).tobytes()
              for n in rng.choice([0, 1, 7, 4095, 4096, 4097, 12288, 30000], size=12)]
    chunks.append(np.arange(1000, dtype=np.float32))  # any contiguous buffer
    target = tmp_path / "f.bin"
    atomic.atomic_write(target, lambda out: [out.write(c) for c in chunks])
    assert target.read_bytes() == b"".join(bytes(memoryview(c).cast("B")) for c in chunks)


def test_a_file_system_refusing_o_direct_gets_the_same_bytes(tmp_path, monkeypatch, small):
    """EINVAL from the first direct write (not from open) drops O_DIRECT and writes again."""
    if not hasattr(os, "O_DIRECT"):
        pytest.skip("no O_DIRECT here")
    import fcntl

    real = os.pwrite
    refused = []

    def picky(fd, data, offset):
        if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT:
            refused.append(offset)
            raise OSError(errno.EINVAL, "Invalid argument")
        return real(fd, data, offset)

    monkeypatch.setattr(output.os, "pwrite", picky)
    write_model(small, tmp_path / "m.onnx")
    assert refused == [0]
    assert (tmp_path / "m.onnx").read_bytes() == small.SerializeToString()


# ---- external data -------------------------------------------------------------------------


def test_external_data_files_are_what_onnx_describes(tmp_path, monkeypatch, small):
    monkeypatch.setattr(save, "EXTERNAL_DATA_THRESHOLD", 100)
    monkeypatch.setattr(save, "EXTERNAL_TENSOR_MIN", 64)
    target = tmp_path / "m.onnx"
    before = small.SerializeToString()
    write_model(small, target)
    assert small.SerializeToString() == before  # the proto handed in is not modified
    data = (tmp_path / "m.onnx.data").read_bytes()
    expected, offset = onnx.ModelProto(), 0
    expected.CopyFrom(small)
    for tensor in expected.graph.initializer:
        if len(tensor.raw_data) >= 64:
            blob = tensor.raw_data
            assert data[offset:offset + len(blob)] == blob
            tensor.ClearField("raw_data")
            for key, value in (("location", "m.onnx.data"), ("offset", str(offset)), ("length", str(len(blob)))):
                tensor.external_data.add(key=key, value=value)
            tensor.data_location = TensorProto.EXTERNAL
            offset += len(blob)
    assert offset == len(data)
    assert target.read_bytes() == expected.SerializeToString()
    onnx.checker.check_model(str(target), full_check=True)


def test_a_failed_model_write_leaves_no_external_data(tmp_path, monkeypatch, small):
    monkeypatch.setattr(save, "EXTERNAL_DATA_THRESHOLD", 100)
    monkeypatch.setattr(save, "EXTERNAL_TENSOR_MIN", 64)
    real = save._write_chunks

    def fail(*args):
        real(*args)
        raise OSError("disk full")

    monkeypatch.setattr(save, "_write_chunks", fail)
    with pytest.raises(WriteError, match="disk full"):
        write_model(small, tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == []


# ---- exporting straight to a file ----------------------------------------------------------


def test_export_to_a_path_writes_the_returned_model_while_filling_it(tmp_path):
    """``export_model(..., path=...)`` streams the file from the arrays as it fills the proto:
    the same bytes as exporting, then writing, and a model onnxruntime runs."""
    from archlang.backends.onnx import export_model

    ir = archlang.api.elaborate(SPEC)
    weights = {k: v.numpy() for k, v in archlang.to_torch(SPEC, seed=3).state_dict().items()}
    for fold in (True, False):
        proto = export_model(ir, weights, fold=fold, path=tmp_path / "m.onnx")
        written = (tmp_path / "m.onnx").read_bytes()
        assert written == proto.SerializeToString() == export_model(ir, weights, fold=fold).SerializeToString()
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    assert session.run(None, {"x": np.ones((2, 3, 8, 8), np.float32)})[0].shape == (2, 256)
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]


def test_fill_and_write_takes_every_kind_of_tensor(tmp_path):
    from archlang.backends.onnx.fill_and_write import fill_and_write
    from archlang.backends.onnx.fold import Scaled

    rng = np.random.default_rng(0)
    weights = [
        ("w2", rng.standard_normal((4, 3, 2)).astype(np.float32)),
        ("folded", Scaled(rng.standard_normal((5, 2)).astype(np.float32), rng.random(5) + 0.5)),
        ("half", rng.standard_normal(7).astype(np.float16)),
        ("mask", rng.random(6) > 0.5),  # bool: added whole by numpy_helper
        ("ids", np.arange(3, dtype=np.int64)),
        ("empty2", np.zeros((0, 4), np.float32)),
    ]
    proto = rich_model()  # already has initializers, of other kinds
    fill_and_write(proto, weights, tmp_path / "m.onnx")
    assert (tmp_path / "m.onnx").read_bytes() == proto.SerializeToString()
    values = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}
    np.testing.assert_array_equal(values["mask"], weights[3][1])
    folded = weights[1][1]
    np.testing.assert_allclose(values["folded"], folded.weight * folded.scale, rtol=1e-6)


def test_a_failure_while_filling_or_writing_leaves_no_file(tmp_path, monkeypatch):
    from archlang.backends.onnx import export_model
    from archlang.backends.onnx.initializers import Initializers

    ir = archlang.api.elaborate(SPEC)
    weights = {k: v.numpy() for k, v in archlang.to_torch(SPEC, seed=3).state_dict().items()}
    target = tmp_path / "m.onnx"
    target.write_bytes(b"previous model")

    def broken_fill(self, tensor, array):
        raise MemoryError("no room for the weights")

    with monkeypatch.context() as patch:
        patch.setattr(Initializers, "fill", broken_fill)
        with pytest.raises(MemoryError):
            export_model(ir, weights, path=target)
    with monkeypatch.context() as patch:
        patch.setattr(output.os, "pwrite", lambda *args: (_ for _ in ()).throw(OSError(errno.EIO, "I/O error")))
        with pytest.raises(WriteError, match="i/o error"):
            export_model(ir, weights, path=target)
    assert target.read_bytes() == b"previous model"
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]


def test_export_to_a_path_uses_external_data_above_the_threshold(tmp_path, monkeypatch):
    from archlang.backends.onnx import export_model

    monkeypatch.setattr(save, "EXTERNAL_DATA_THRESHOLD", 100)
    ir = archlang.api.elaborate(SPEC)
    weights = {k: v.numpy() for k, v in archlang.to_torch(SPEC, seed=3).state_dict().items()}
    proto = export_model(ir, weights, path=tmp_path / "m.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx", "m.onnx.data"]
    assert all(t.data_location == TensorProto.DEFAULT for t in proto.graph.initializer)
    onnx.checker.check_model(str(tmp_path / "m.onnx"), full_check=True)
    x = np.ones((1, 3, 8, 8), np.float32)
    from_file = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    in_memory = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_array_equal(from_file.run(None, {"x": x})[0], in_memory.run(None, {"x": x})[0])
