# Generates kquants.gguf with gguf-py (the llama.cpp project's Python GGUF package), an
# implementation independent of ours: random Q4_K and Q6_K blocks (with sane fp16 scales)
# and, next to each, the F32 values gguf-py's dequantizer gives. Also metadata of every type.
# Run: python3 make_kquants_fixture.py   (needs the 'gguf' and 'numpy' Python packages)
import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q

rng = np.random.default_rng(1234)

def blocks(n, size, f16_at):
    b = rng.integers(0, 256, size=(n, size), dtype=np.uint8)
    for off in f16_at:
        vals = (rng.standard_normal(n) * 0.02).astype(np.float16)
        b[:, off:off + 2] = vals.view(np.uint8).reshape(n, 2)
    return b

w = gguf.GGUFWriter("kquants.gguf", "llama")
w.add_uint8("t.u8", 200); w.add_int8("t.i8", -5); w.add_uint16("t.u16", 60000); w.add_int16("t.i16", -3000)
w.add_uint32("t.u32", 4000000000); w.add_int32("t.i32", -123456); w.add_float32("t.f32", 1.5)
w.add_uint64("t.u64", 1 << 40); w.add_int64("t.i64", -(1 << 40)); w.add_float64("t.f64", 2.25)
w.add_bool("t.bool", True); w.add_string("t.str", "héllo")
w.add_array("t.arr.i32", [1, -2, 3]); w.add_array("t.arr.str", ["a", "bc", ""])
w.add_array("t.arr.f32", [0.5, -1.0]); w.add_array("t.arr.nested", [[1, 2], [3]])
for name, qt, size, f16 in (("q4k", Q.Q4_K, 144, (0, 2)), ("q6k", Q.Q6_K, 210, (208,))):
    rows, cols = 3, 512
    raw = blocks(rows * cols // 256, size, f16)
    expected = gguf.quants.dequantize(raw.reshape(rows, -1), qt).astype(np.float32)
    assert expected.shape == (rows, cols)
    w.add_tensor(name, raw.reshape(rows, -1), raw_shape=raw.reshape(rows, -1).shape, raw_dtype=qt)
    w.add_tensor(name + ".expected", expected)
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
