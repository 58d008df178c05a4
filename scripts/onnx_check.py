"""Checks ONNX files with onnx.checker (full check: schemas, types and shape inference).

    npx tsx scripts/onnx_export_cases.ts /tmp/onnx    # every model the ONNX tests export
    /usr/bin/python3 scripts/onnx_check.py /tmp/onnx  # Debian's python3-onnx

Exits 1 if any file fails. src/io/onnx/onnx_proto.ts is onnx.proto of the installed package with
its comments removed:
    re.sub(r'//[^\\n]*', '', open(onnx.__path__[0] + '/onnx.proto').read()), blank lines dropped.
"""
import glob
import os
import sys

import onnx

files = sorted(glob.glob(os.path.join(sys.argv[1], "*.onnx"))) if len(sys.argv) > 1 else []
if not files:
    sys.exit("usage: onnx_check.py <dir with .onnx files>")
failed = 0
for path in files:
    try:
        model = onnx.load(path)
        onnx.checker.check_model(model, full_check=True)
        ops = sorted({n.op_type for n in model.graph.node})
        print(f"ok   {os.path.basename(path)} (opset {model.opset_import[0].version}: {', '.join(ops)})")
    except Exception as error:  # noqa: BLE001 - report every file, then fail
        failed += 1
        print(f"FAIL {os.path.basename(path)}: {error}")
print(f"{len(files) - failed}/{len(files)} files pass onnx.checker (onnx {onnx.__version__})")
sys.exit(1 if failed else 0)
