"""``archlang ops [NAME]``: the op reference, or one op's entry, exactly as docs/ops.md has it.

The text comes from ``archlang.report.reference`` with the ONNX backend's lowering texts;
without the onnx extra installed the ONNX lines say so.  An unknown NAME is a usage error
(exit 2) with the closest op names.  Imports the ONNX backend only inside ``lowering_texts``.
"""

from __future__ import annotations

import difflib
import sys


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "ops", help="the op reference: signatures, shape rules, MACs, ONNX lowerings",
        description="Print the op reference (docs/ops.md), or the entry of op NAME: its signature with the "
                    "defaults, shape rule, MAC count and ONNX lowering.")
    parser.add_argument("name", nargs="?", metavar="NAME", help="one op, e.g. Conv2d or scaled_dot_product_attention")
    parser.set_defaults(run=cmd_ops)


def cmd_ops(args) -> int:
    from archlang import ops  # the registry and the reference: only this command needs them
    from archlang.report.reference import entry, reference

    texts = lowering_texts()
    if args.name is None:
        sys.stdout.write(reference(texts))
        return 0
    spec = ops.get(args.name)
    if spec is None:
        close = difflib.get_close_matches(args.name, list(ops.REGISTRY), n=3)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else " (archlang ops lists them all)"
        print(f"archlang: error: unknown op '{args.name}'{hint}", file=sys.stderr)
        return 2
    print(entry(spec, texts.get(spec.name, "")))
    return 0


def lowering_texts() -> dict[str, str]:
    """Op name → how the ONNX backend lowers it."""
    from archlang import ops

    try:
        from archlang.backends.onnx import describe
    except ImportError:  # the onnx extra is not installed
        return {name: "(install archlang[onnx] to see the lowering)" for name in ops.REGISTRY}
    return {name: describe(name) for name in ops.REGISTRY}
