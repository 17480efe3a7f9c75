"""Scenario 10b: import a generated module (argv[1]/argv[2].py) whose every function allocates a
distinct bytearray on its own line and keeps it; call them all."""
import importlib
import sys

sys.path.insert(0, sys.argv[1])
mod = importlib.import_module(sys.argv[2])
n = 0
for name in sorted(k for k in vars(mod) if k.startswith("f")):
    getattr(mod, name)()
    n += 1
print("sites", n, len(mod.KEEP))
