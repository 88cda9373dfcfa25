# ruff: noqa: E501  (each expected message is kept on one line, as printed)
"""A corpus of bad and hostile inputs, each pinned to the one line ``sparsim run`` prints.

Every case runs ``sparsim run`` in-process and expects exit status 2, exactly one
``sparsim: error: ...`` line on stderr (``{tmp}`` is the case's folder), nothing on stdout, and
a Python heap peak under 200 MB (the billion-laughs file and the gpt2 batch of 10^9 used to take
gigabytes). A few run as real subprocesses to prove no traceback reaches the terminal.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from sparsim.simulator.cli import main

_GOOD_ACCEL = (
    "name: t\n"
    "compute: {rows: 4, cols: 4, dataflow: os}\n"
    "buffers: {shared: {size_bytes: 64KiB, read_bytes_per_cycle: 8, write_bytes_per_cycle: 8}}\n"
    "dram: {bandwidth_gb_per_s: 10.0}\n"
)


def _accel(**over: str) -> str:
    """A valid accelerator file with some top-level lines replaced."""
    lines = {
        "compute": "compute: {rows: 4, cols: 4, dataflow: os}",
        "buffers": "buffers: {shared: {size_bytes: 64KiB, read_bytes_per_cycle: 8, write_bytes_per_cycle: 8}}",
        "dram": "dram: {bandwidth_gb_per_s: 10.0}",
    }
    lines.update(over)
    return "name: t\n" + "\n".join(lines.values()) + "\n"


def _workload(layer: str) -> str:
    """A workload file of one layer named g."""
    return f"name: w\nlayers:\n  - name: g\n    {layer}\n"


# Nine levels of ten aliases each: 10^9 leaves once expanded.
_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8)
)
_CASES: list[tuple[str, dict[str, str | bytes], list[str], str]] = [
    # (id, files {name: content}, argv, expected-line)
    # accelerator files: encoding, size and kind of file
    (
        "non-utf8",
        {"a.yaml": b"name: \xff\xfe\n"},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: not UTF-8 text (byte 0xff at offset 6); save the file as UTF-8",
    ),
    (
        "binary",
        {"a.yaml": b"\x7fELF\x02\x01\x01\x00\x00"},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: a binary file (a NUL byte at offset 7), not YAML text",
    ),
    (
        "utf16",
        {"a.yaml": "name: t\n".encode("utf-16")},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: a binary file (a NUL byte at offset 3), not YAML text",
    ),
    (
        "empty-file",
        {"a.yaml": ""},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: <root>: the file is empty; expected a mapping with keys name, description, compute, sparsity, buffers, dram, precision, vector, energy, area, inter_layer_residency, global_buffer",
    ),
    (
        "comment-only",
        {"a.yaml": "# nothing\n"},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: <root>: the file is empty; expected a mapping with keys name, description, compute, sparsity, buffers, dram, precision, vector, energy, area, inter_layer_residency, global_buffer",
    ),
    (
        "list-root",
        {"a.yaml": "- a\n- b\n"},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: <root>: must be a mapping with keys name, description, compute, sparsity, buffers, dram, precision, vector, energy, area, inter_layer_residency, global_buffer, not a list",
    ),
    (
        "scalar-root",
        {"a.yaml": "hello\n"},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: <root>: must be a mapping with keys name, description, compute, sparsity, buffers, dram, precision, vector, energy, area, inter_layer_residency, global_buffer, not 'hello' (a string)",
    ),
    # structure: depth, keys, aliases, tags, values
    (
        "deep-33",
        {"a.yaml": "a: " + "[" * 40 + "]" * 40 + "\n"},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: line 1, column 35: nested more than 32 levels deep (sparsim files need at most 5)",
    ),
    (
        "deep-100000",
        {"a.yaml": "[" * 100000},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: line 1, column 1001: exceeded maximum nesting depth",
    ),
    (
        "deep-block",
        {"a.yaml": "".join(" " * i + "a:\n" for i in range(40))},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: line 33, column 33: nested more than 32 levels deep (sparsim files need at most 5)",
    ),
    (
        "list-key",
        {"a.yaml": "? [a, b]\n: 1\n"},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: line 1, column 3: a mapping key must be a plain value such as a name, not a list",
    ),
    (
        "mapping-key",
        {"a.yaml": "? {a: 1}\n: 1\n"},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: line 1, column 3: a mapping key must be a plain value such as a name, not a mapping",
    ),
    (
        "flow-list-key",
        {"a.yaml": "{[1, 2]: x}\n"},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: line 1, column 2: a mapping key must be a plain value such as a name, not a list",
    ),
    (
        "merge-key",
        {"a.yaml": "base: &b {rows: 4}\ncompute:\n  <<: *b\n"},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: line 3, column 3: YAML merge keys (<<) are not supported; write the keys out (an alias of a whole value, as in 'input: *buffer', works)",
    ),
    (
        "billion-laughs",
        {"a.yaml": _LAUGHS},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: line 6, column 8: more than 200,000 values once aliases are expanded (a file this large, or aliases nested to blow up, is refused)",
    ),
    (
        "recursive-alias",
        {"a.yaml": "a: &x [1, *x]\n"},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: line 1, column 11: alias *x refers to a node that contains it (recursive data is not allowed)",
    ),
    (
        "undefined-alias",
        {"a.yaml": "a: *nope\n"},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: line 1, column 4: found undefined alias",
    ),
    (
        "duplicate-key",
        {"a.yaml": _GOOD_ACCEL + "name: u\n"},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: line 5, column 1: duplicate key 'name' (first at line 1)",
    ),
    (
        "python-tag",
        {"a.yaml": "name: !!python/object/apply:os.system [ls]\n"},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: line 1, column 7: could not determine a constructor for the tag 'tag:yaml.org,2002:python/object/apply:os.system'",
    ),
    (
        "bad-int-tag",
        {"a.yaml": "name: !!int abc\n"},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: line 1, column 7: 'abc' is not a valid int",
    ),
    (
        "bad-bool-tag",
        {"a.yaml": "name: !!bool maybe\n"},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: line 1, column 7: 'maybe' is not a valid bool",
    ),
    (
        "bad-float-tag",
        {"a.yaml": "name: !!float x\n"},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: line 1, column 7: 'x' is not a valid float",
    ),
    (
        "huge-value",
        {"a.yaml": "name: " + "a" * 5000 + "\n"},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: line 1, column 7: a value of 5,000 characters; at most 4,000 (no field needs more)",
    ),
    (
        "huge-int",
        {"a.yaml": "name: " + "9" * 5000 + "\n"},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: line 1, column 7: a value of 5,000 characters; at most 4,000 (no field needs more)",
    ),
    (
        "too-large",
        {"a.yaml": "#" * (2 * 1024**2 + 1)},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: the file is larger than 2,097,152 bytes, the limit for a YAML file (the shipped ones are under 4 KB)",
    ),
    ("directory", {}, ["--accel", "{tmp}/"], "{tmp}: cannot read: a directory, not a YAML file"),
    (
        "dev-zero",
        {},
        ["--accel", "/dev/zero"],
        "/dev/zero: cannot read: a character device, not a YAML file",
    ),
    (
        "missing",
        {},
        ["--accel", "{tmp}/nope.yaml"],
        "{tmp}/nope.yaml: cannot read: No such file or directory",
    ),
    (
        "syntax",
        {"a.yaml": "name: [unclosed\ncompute: {rows: 1}\n"},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: line 2, column 8: did not find expected ',' or ']'",
    ),
    (
        "tab-indent",
        {"a.yaml": "compute:\n\trows: 4\n"},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: line 2, column 1: found character that cannot start any token",
    ),
    (
        "two-documents",
        {"a.yaml": _GOOD_ACCEL + "---\n" + _GOOD_ACCEL},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: line 5, column 1: but found another document",
    ),
    # values: types, YAML 1.2 numbers, ranges that say why
    (
        "rows-billion",
        {"a.yaml": _accel(compute="compute: {rows: 1000000000, cols: 4, dataflow: os}")},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: compute.rows: must be in 1..4096 (assumed cap: 16x TPU v1's 256-wide array, Jouppi et al. ISCA 2017), not 1000000000",
    ),
    (
        "rows-float",
        {"a.yaml": _accel(compute="compute: {rows: 1e3, cols: 4, dataflow: os}")},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: compute.rows: must be an integer, not 1000.0 (a float)",
    ),
    (
        "rows-octal",
        {"a.yaml": _accel(compute="compute: {rows: 010, cols: 4, dataflow: os}")},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: compute.rows: must be an integer, not '010' (a string)",
    ),
    (
        "rows-base60",
        {"a.yaml": _accel(compute="compute: {rows: 1:30, cols: 4, dataflow: os}")},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: compute.rows: must be an integer, not '1:30' (a string)",
    ),
    (
        "freq-tiny",
        {"a.yaml": _accel(compute="compute: {rows: 4, cols: 4, dataflow: os, freq_mhz: 1e-300}")},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: compute.freq_mhz: must be in 1..10,000 (MHz: 1 MHz to 10 GHz; a value outside is a unit slip), not 1e-300",
    ),
    (
        "freq-inf",
        {"a.yaml": _accel(compute="compute: {rows: 4, cols: 4, dataflow: os, freq_mhz: .inf}")},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: compute.freq_mhz: must be a number, not inf (a float)",
    ),
    (
        "freq-nan",
        {"a.yaml": _accel(compute="compute: {rows: 4, cols: 4, dataflow: os, freq_mhz: .nan}")},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: compute.freq_mhz: must be a number, not nan (a float)",
    ),
    (
        "freq-date",
        {
            "a.yaml": _accel(
                compute="compute: {rows: 4, cols: 4, dataflow: os, freq_mhz: 2024-02-30}"
            )
        },
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: compute.freq_mhz: must be a number, not '2024-02-30' (a string)",
    ),
    (
        "freq-quoted",
        {"a.yaml": _accel(compute="compute: {rows: 4, cols: 4, dataflow: os, freq_mhz: '1e3'}")},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: compute.freq_mhz: must be a number (quotes make it a string; write 1e3 without them), not '1e3' (a string)",
    ),
    (
        "dataflow-long",
        {"a.yaml": _accel(compute="compute: {rows: 4, cols: 4, dataflow: " + "d" * 3000 + "}")},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: compute.dataflow: must be one of ws, os, is, not 'dddddddddddddddddddddddddddddddddddddddddddddddddddddddddd… (3,000 characters) (a string)",
    ),
    (
        "size-0kib",
        {
            "a.yaml": _accel(
                buffers="buffers: {shared: {size_bytes: 0KiB, read_bytes_per_cycle: 8, write_bytes_per_cycle: 8}}"
            )
        },
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: buffers.shared.size_bytes: must be 1 byte to 1TiB (1TiB is far beyond any on-chip buffer), not '0KiB' (0 bytes)",
    ),
    (
        "size-huge",
        {
            "a.yaml": _accel(
                buffers="buffers: {shared: {size_bytes: 2048GiB, read_bytes_per_cycle: 8, write_bytes_per_cycle: 8}}"
            )
        },
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: buffers.shared.size_bytes: must be 1 byte to 1TiB (1TiB is far beyond any on-chip buffer), not '2048GiB' (2,199,023,255,552 bytes)",
    ),
    (
        "size-kb",
        {
            "a.yaml": _accel(
                buffers="buffers: {shared: {size_bytes: 64KB, read_bytes_per_cycle: 8, write_bytes_per_cycle: 8}}"
            )
        },
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: buffers.shared.size_bytes: must be a positive integer number of bytes or a size like '256KiB' (units B, KiB, MiB, GiB), not '64KB' (a string)",
    ),
    (
        "latency-huge",
        {"a.yaml": _accel(dram="dram: {bandwidth_gb_per_s: 10.0, latency_cycles: 1099511627776}")},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: dram.latency_cycles: must be at most 2,147,483,647 (2^31 - 1: no count or dimension in a sparsim file comes near it), not 1099511627776",
    ),
    (
        "bandwidth-zero",
        {"a.yaml": _accel(dram="dram: {bandwidth_gb_per_s: 0}")},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: dram.bandwidth_gb_per_s: must be in 0.001..100,000 (GB/s: 1 MB/s to 100 TB/s; a value outside is a unit slip), not 0",
    ),
    (
        "energy-huge",
        {
            "a.yaml": _accel(
                dram="dram: {bandwidth_gb_per_s: 10.0}\nenergy: {mac_int8: {pj: 1.0e+300, source: x}}"
            )
        },
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: energy.mac_int8.pj: must be in 0..1,000,000 (1e6 pJ is 1 µJ per action, ~400x a 64-bit DRAM access), not 1e+300",
    ),
    (
        "unknown-key",
        {"a.yaml": _accel(dram="dram: {bandwidth_gb_per_s: 10.0, latncy_cycles: 3}")},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: dram.latncy_cycles: unknown key; did you mean 'latency_cycles'? allowed keys are bandwidth_gb_per_s, latency_cycles, technology",
    ),
    (
        "null-key",
        {"a.yaml": _accel(dram="dram: {bandwidth_gb_per_s: 10.0, null: 3}")},
        ["--accel", "{tmp}/a.yaml"],
        "{tmp}/a.yaml: dram.None: unknown key; allowed keys are bandwidth_gb_per_s, latency_cycles, technology",
    ),
    # workloads
    # workload files, and sizes the simulator refuses before it starts
    (
        "w-m-trillion",
        {"w.yaml": _workload("gemm: {m: 1000000000000, n: 64, k: 64}")},
        ["--workload", "{tmp}/w.yaml"],
        "{tmp}/w.yaml: layers[0].gemm.m: must be at most 2,147,483,647 (2^31 - 1: no count or dimension in a sparsim file comes near it), not 1000000000000",
    ),
    (
        "w-macs",
        {"w.yaml": _workload("gemm: {m: 2147483647, n: 2147483647, k: 2147483647}")},
        ["--workload", "{tmp}/w.yaml"],
        "layer g (fw): 9.9e+27 MACs; at most 2^53 = 9.01e+15 (exact integer counts); use a smaller batch or layer",
    ),
    (
        "w-tiles",
        {"w.yaml": _workload("gemm: {m: 1073741824, n: 64, k: 64}")},
        ["--workload", "{tmp}/w.yaml"],
        "layer g (fw): 67,108,864 tiles on sat's 32x32 array; at most 16,777,216 per layer (the engines hold per-tile arrays in memory); use a smaller batch or layer",
    ),
    (
        "w-vector",
        {
            "w.yaml": _workload(
                "vector: {kind: softmax, elements: 2147483647, flops_per_element: 2147483647}"
            )
        },
        ["--workload", "{tmp}/w.yaml"],
        "layer g (vector): 4.61e+18 vector operations; at most 2^53 = 9.01e+15 (exact integer counts); use a smaller batch or layer",
    ),
    (
        "w-layers",
        {"w.yaml": "name: w\nlayers: [" + "0, " * 10001 + "]\n"},
        ["--workload", "{tmp}/w.yaml"],
        "{tmp}/w.yaml: layers: 10,001 layers; at most 10,000 (split the file)",
    ),
    (
        "w-layers-empty",
        {"w.yaml": "name: w\nlayers: []\n"},
        ["--workload", "{tmp}/w.yaml"],
        "{tmp}/w.yaml: layers: must be a non-empty list of mappings, not an empty list",
    ),
    (
        "w-batch-zero",
        {"w.yaml": "name: w\nbatch: 0\n" + _workload("gemm: {m: 4, n: 4, k: 4}")[8:]},
        ["--workload", "{tmp}/w.yaml"],
        "{tmp}/w.yaml: batch: must be >= 1, not 0",
    ),
    (
        "w-batch-flag",
        {"w.yaml": _workload("gemm: {m: 4, n: 4, k: 4}")},
        ["--workload", "{tmp}/w.yaml", "--batch", "2"],
        "--batch sets a zoo model's batch; {tmp}/w.yaml sets its own (batch: in the file): drop --batch or edit the file",
    ),
    (
        "w-sparsity",
        {"w.yaml": _workload("gemm: {m: 4, n: 4, k: 4}\n    weight_sparsity: 2:9x")},
        ["--workload", "{tmp}/w.yaml"],
        "{tmp}/w.yaml: layers[0].weight_sparsity: '2:9x' is not a sparsity; use dense, N:M (e.g. 2:8, 2:8t for transposable), groupG:P%, blockRxC:P% or unstructured:P% (P = percent zeros)",
    ),
    (
        "w-conv-fit",
        {
            "w.yaml": _workload(
                "conv2d: {in_channels: 3, out_channels: 4, height: 2, width: 2, kernel: 5}"
            )
        },
        ["--workload", "{tmp}/w.yaml"],
        "{tmp}/w.yaml: layers[0].conv2d: Conv2d: the kernel does not fit the padded input",
    ),
    (
        "w-non-utf8",
        {"w.yaml": b"name: caf\xe9\n"},
        ["--workload", "{tmp}/w.yaml"],
        "{tmp}/w.yaml: not UTF-8 text (byte 0xe9 at offset 9); save the file as UTF-8",
    ),
    (
        "w-two-ops",
        {"w.yaml": _workload("gemm: {m: 4, n: 4, k: 4}\n    vector: {kind: norm, elements: 4}")},
        ["--workload", "{tmp}/w.yaml"],
        "{tmp}/w.yaml: layers[0]: needs exactly one op key of gemm, linear, conv2d, matmul, vector; found gemm, vector",
    ),
    # CLI flags
    # command-line flags and output paths
    (
        "batch-text",
        {},
        ["--batch", "abc"],
        "argument --batch: must be an integer >= 1, not 'abc' (see sparsim run --help)",
    ),
    (
        "batch-zero",
        {},
        ["--batch", "0"],
        "argument --batch: must be an integer >= 1, not 0 (see sparsim run --help)",
    ),
    (
        "batch-negative",
        {},
        ["--batch", "-5"],
        "argument --batch: must be an integer >= 1, not -5 (see sparsim run --help)",
    ),
    (
        "batch-billion",
        {},
        ["--workload", "gpt2", "--batch", "1000000000"],
        "layer wpe.add (vector): 12,000,000,000 tiles on sat's buffers; at most 16,777,216 per layer (the engines hold per-tile arrays in memory); use a smaller batch or layer",
    ),
    (
        "batch-10k",
        {},
        ["--workload", "gpt2", "--batch", "10000"],
        "layer h.0.attn.qkv (fw): 23,040,000 tiles on sat's 32x32 array; at most 16,777,216 per layer (the engines hold per-tile arrays in memory); use a smaller batch or layer",
    ),
    (
        "sparsity-empty",
        {},
        ["--sparsity", ""],
        "--sparsity: empty value; give one or leave the option out",
    ),
    (
        "workload-empty",
        {},
        ["--workload", " "],
        "--workload: empty value; give one or leave the option out",
    ),
    ("accel-empty", {}, ["--accel", ""], "--accel: empty value; give one or leave the option out"),
    ("json-empty", {}, ["--json", ""], "--json: empty value; give one or leave the option out"),
    ("sparsity-3-2", {}, ["--sparsity", "3:2"], "N:M: n must be an int with 1 <= n < m=2, not 3"),
    (
        "sparsity-long",
        {},
        ["--sparsity", "x" * 100000],
        "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx… (100,000 characters) is not a sparsity; use dense, N:M (e.g. 2:8, 2:8t for transposable), groupG:P%, blockRxC:P% or unstructured:P% (P = percent zeros)",
    ),
    (
        "sparsity-100pct",
        {},
        ["--sparsity", "unstructured:100%"],
        "'unstructured:100%': the percentage of zeros must be in [0, 100)",
    ),
    (
        "phase-bogus",
        {},
        ["--phase", "serving"],
        "argument --phase: invalid choice: 'serving' (choose from 'inference', 'training') (see sparsim run --help)",
    ),
    (
        "engine-bogus",
        {},
        ["--engine", "fast"],
        "argument --engine: invalid choice: 'fast' (choose from 'analytical', 'event') (see sparsim run --help)",
    ),
    (
        "trace-analytical",
        {},
        ["--trace", "{tmp}/t.json"],
        "--trace needs --engine event (the analytical engine has no timeline)",
    ),
    ("json-directory", {}, ["--json", "{tmp}"], "--json: {tmp} is a directory; give a file path"),
    (
        "json-no-folder",
        {},
        ["--json", "{tmp}/no/such/r.json"],
        "--json: the folder {tmp}/no/such does not exist",
    ),
    (
        "out-is-file",
        {"f.txt": "x"},
        ["--out", "{tmp}/f.txt"],
        "--out: {tmp}/f.txt is a file, not a folder",
    ),
    ("out-no-parent", {}, ["--out", "{tmp}/no/such"], "--out: the folder {tmp}/no does not exist"),
    (
        "json-is-trace",
        {},
        ["--engine", "event", "--json", "{tmp}/x.json", "--trace", "{tmp}/x.json"],
        "--json and --trace name the same file",
    ),
    (
        "model-unknown",
        {},
        ["--workload", "resnet51"],
        "unknown model 'resnet51'; available models: bert_base, gpt2, llama2_7b, llama2_7b_decode, mobilenet_v1, mobilenet_v2, resnet18, resnet50, tinyllama_1b, tinyllama_1b_decode, vgg16, vit_b16 (a workload file's path needs a '/' or a .yaml suffix)",
    ),
    (
        "accel-unknown",
        {},
        ["--accel", "sat2"],
        "'sat2': no such accelerator config; available configs are dense_os_32x32, dense_ws_128x128, mobile_cpu, mobile_npu, sat, sparse_tensor_core, sparse_tensor_core_h100, vegeta (or give the path of a .yaml file)",
    ),
]


_PEAK_BYTES = 200 * 1024**2


def _materialize(tmp_path: Path, files: dict[str, str | bytes], argv: list[str]) -> list[str]:
    for name, content in files.items():
        if isinstance(content, bytes):
            (tmp_path / name).write_bytes(content)
        else:
            (tmp_path / name).write_text(content, encoding="utf-8")
    return ["run", *(arg.replace("{tmp}", str(tmp_path)) for arg in argv)]


def test_corpus_is_large_and_unique() -> None:
    ids = [case[0] for case in _CASES]
    assert len(ids) >= 60 and len(set(ids)) == len(ids)


@pytest.mark.parametrize(("files", "argv", "line"), [c[1:] for c in _CASES],
                         ids=[c[0] for c in _CASES])  # fmt: skip
def test_bad_input_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], files: dict[str, str | bytes],
    argv: list[str], line: str,
) -> None:  # fmt: skip
    args = _materialize(tmp_path, files, argv)
    tracemalloc.start()
    try:
        status = main(args)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    out, err = capsys.readouterr()
    assert (status, out) == (2, "")
    assert err == f"sparsim: error: {line.replace('{tmp}', str(tmp_path))}\n"
    assert peak < _PEAK_BYTES


def test_fifo_is_refused_without_blocking(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "a.yaml"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer forever
    assert main(["run", "--accel", str(fifo)]) == 2
    assert capsys.readouterr().err == (
        f"sparsim: error: {fifo}: cannot read: a named pipe, not a YAML file\n"
    )


@pytest.mark.parametrize("case", ["billion-laughs", "deep-100000", "non-utf8", "batch-text",
                                  "list-key"])  # fmt: skip
def test_no_traceback_reaches_the_terminal(tmp_path: Path, case: str) -> None:
    _, files, argv, line = next(c for c in _CASES if c[0] == case)
    args = _materialize(tmp_path, files, argv)
    proc = subprocess.run([sys.executable, "-m", "sparsim.simulator.cli", *args],
                          capture_output=True, text=True, check=False, cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr == f"sparsim: error: {line.replace('{tmp}', str(tmp_path))}\n"
    assert "Traceback" not in proc.stderr


def test_a_file_named_like_a_zoo_model_does_not_shadow_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The rule in ``sparsim run --help``: no '/' and no .yaml suffix means a zoo name."""
    monkeypatch.chdir(tmp_path)
    Path("resnet18").write_text("not: [a workload\n", encoding="utf-8")
    assert main(["run", "--workload", "resnet18", "--accel", "dense_os_32x32"]) == 0
    assert capsys.readouterr().out.startswith("resnet18 (inference) on dense_os_32x32")
    assert main(["run", "--workload", "./resnet18"]) == 2
    assert capsys.readouterr().err.startswith("sparsim: error: resnet18: line 2, column 1:")


def test_prune_checks_its_output_before_loading_the_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "no" / "pruned.npz"
    assert main(["prune", "no_such_model.onnx", "--pattern", "2:4", "--out", str(out)]) == 2
    assert capsys.readouterr().err == f"sparsim: error: --out: the folder {out.parent} does not exist\n"
