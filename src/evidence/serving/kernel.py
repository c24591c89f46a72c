"""The dashboard's kernel: ipykernel's own, without its debugger.

ipykernel imports debugpy (its debugger, 8 MB resident and 140 modules) in every kernel it
starts, when debugpy is installed. Nothing debugs a served dashboard's kernel (Voila never
asks; the debugger is for JupyterLab), so ``evidence serve`` starts its kernels with
``--IPKernelApp.kernel_class`` naming :class:`DashboardKernel`, whose module makes debugpy
unimportable before ipykernel looks for it: ipykernel then runs without a debugger, as it does
where debugpy is not installed. Kernels started anywhere else are not touched.
"""

from __future__ import annotations

import sys

# Before IPythonKernel.__init__ imports ipykernel.debugger (which tries `import debugpy`).
if "debugpy" not in sys.modules:
    sys.modules["debugpy"] = None  # type: ignore[assignment]

from ipykernel.ipkernel import IPythonKernel  # after the line above


class DashboardKernel(IPythonKernel):
    """ipykernel's IPython kernel, started without debugpy (see the module)."""


__all__ = ["DashboardKernel"]
