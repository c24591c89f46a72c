"""Kernels of the served dashboard: a cap, a cap-aware preheated pool, and who owns which kernel.

Voila starts one kernel per page view. :class:`EvidenceKernelManager` (Voila's
``VoilaConfiguration.multi_kernel_manager_class``) adds:

- **a cap** (``max_kernels``): at most that many kernels exist at once, the preheated pool
  *included*, so that the cap is also the bound on memory (about 110 MB a kernel, more once
  the Bayesian model is opened: it loads scipy.special). A start that would pass it raises
  :class:`RoomFull`; the page handler turns that into the "room is full" page (HTTP 503).
  The slot of a kernel is taken when it is *reserved* (before it starts) and given back
  when it is shut down, so concurrent starts cannot overshoot;
- **owners**: the kernel a page was served with belongs to the viewer (the login cookie's
  user) who asked for the page. The websocket, kernel API and shutdown handlers
  (:mod:`evidence.serving.handlers`) refuse anyone else, even with the kernel id;
- **abandoned kernels** are shut down early: a kernel whose page never opened its websocket
  within ``connect_grace`` seconds, or whose page has been gone (no websocket) that long, and a
  viewer's disconnected kernels when the same viewer loads the page again (a reload). The
  idle culler of jupyter_server stays as the backstop.

:func:`pooled` wraps Voila's preheating kernel manager (built by
``voila.voila_kernel_manager.voila_kernel_manager_factory``) so that the pool refills only
while the cap allows, never hands one viewer's request data to the next viewer's kernel, and
refills after kernels are shut down.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import hmac
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from traitlets import Float, Integer

FILLED = "Kernel pool of %s is filled with %s kernel(s)"  # Voila's own message: tests wait for it
#: Appended to each kernel's command line. ipywidgets answers a bad widget value (a crafted
#: message, or a callback that raises) with IPython's showtraceback(), whose default
#: "Context" mode highlights source around every frame: about 0.1 s of CPU per bad message
#: (measured: 0.11-0.15 s). Plain tracebacks keep every frame and line for the log.
#: The kernel class is ipykernel's without its debugger (evidence.serving.kernel): 8 MB less
#: resident in every kernel. No input history: IPython would keep a thread and an SQLite
#: connection in every kernel (1.2-1.6 MB resident) to write the notebook's cells into one
#: history file shared by all of them; nobody reads a dashboard's history.
KERNEL_ARGS = (
    "--InteractiveShell.xmode=Plain",
    "--InteractiveShell.colors=nocolor",
    "--IPKernelApp.kernel_class=evidence.serving.kernel.DashboardKernel",
    "--HistoryManager.enabled=False",
)


class RoomFull(Exception):
    """No kernel can be started for a viewer: ``max_kernels`` kernels exist already."""


@dataclass
class Viewer:
    """The viewer a page request is served to (set by the page handler for the request)."""

    user: str
    kernel_id: str | None = None


@dataclass
class Owner:
    user: str
    since: float  # time.monotonic() when the kernel was handed to the viewer
    connections: int = 0  # open websockets
    left: float | None = None  # time.monotonic() when the last websocket closed


#: The viewer of the page request being handled (a contextvar: each request is its own task).
VIEWER: contextvars.ContextVar[Viewer | None] = contextvars.ContextVar(
    "evidence_viewer", default=None
)
#: The slot reserved for the pool kernel a preheating task is starting.
_POOL_SLOT: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "evidence_pool_slot", default=None
)


class EvidenceKernelManager(AsyncMappingKernelManager):
    """jupyter_server's kernel manager with a kernel cap and per-viewer kernel ownership."""

    max_kernels = Integer(
        0,
        config=True,
        help="Most kernels at once, preheated pool included (0: no cap).",
    )
    connect_grace = Float(
        60.0,
        config=True,
        help="Seconds a served kernel may stay without an open page before it is shut down.",
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._slots: set[str] = set()  # reserved, starting or running kernel ids
        self.owners: dict[str, Owner] = {}
        self.turned_away = 0
        self.closing = False
        self.on_release: list[Callable[[str], None]] = []

    # --- the cap ---------------------------------------------------------------------------

    def used(self) -> int:
        """Kernels that exist or are being started (a slot each)."""
        return len(self._slots | set(self._kernels))

    def has_room(self) -> bool:
        return self.max_kernels <= 0 or self.used() < self.max_kernels

    def room(self) -> int:
        """How many more kernels may be started (a large number without a cap)."""
        return 1 << 30 if self.max_kernels <= 0 else max(0, self.max_kernels - self.used())

    def reserve(self) -> str:
        kernel_id = str(uuid.uuid4())
        self._slots.add(kernel_id)
        return kernel_id

    def release(self, kernel_id: str, refill: bool = True) -> None:
        """Give back a kernel's slot (it was shut down, or never started); then, unless a
        start failed (``refill=False``: no retry loop), top the pool up."""
        self._slots.discard(kernel_id)
        self.owners.pop(kernel_id, None)
        for callback in self.on_release:
            try:
                callback(kernel_id)
            except Exception:  # a cleanup hook must not break a shutdown
                self.log.exception("release hook failed for kernel %s", kernel_id)
        if refill and not self.closing:
            self.refill()

    async def start_kernel(self, *, kernel_id: str | None = None, **kwargs: Any) -> str:
        if kernel_id is not None and kernel_id in self:
            return await super().start_kernel(kernel_id=kernel_id, **kwargs)
        kwargs.setdefault("extra_arguments", list(KERNEL_ARGS))
        slot = _POOL_SLOT.get()
        pool_kernel = slot is not None and slot in self._slots and slot not in self._kernels
        if pool_kernel:
            kernel_id = slot  # a pool kernel: its slot was reserved when the pool was filled
            _POOL_SLOT.set(None)
        else:
            # A viewer's kernel. Check and reserve with no await in between: atomic.
            if self.closing:
                raise RoomFull("the server is stopping")
            if not self.has_room():
                self.turned_away += 1
                raise RoomFull(f"{self.used()} kernels of {self.max_kernels} in use")
            kernel_id = self.reserve()
            viewer = VIEWER.get()
            if viewer is not None:
                self.claim(kernel_id, viewer)
        try:
            return await super().start_kernel(kernel_id=kernel_id, **kwargs)
        except BaseException:
            if kernel_id not in self._kernels:
                self.release(kernel_id, refill=not pool_kernel)
            raise

    async def shutdown_kernel(self, kernel_id: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return await ensure_async(super().shutdown_kernel(kernel_id, *args, **kwargs))
        finally:
            self.release(kernel_id)

    async def shutdown_all(self, *args: Any, **kwargs: Any) -> None:
        self.closing = True  # no refill, no new kernel, while everything stops
        await ensure_async(super().shutdown_all(*args, **kwargs))

    # --- owners ----------------------------------------------------------------------------

    def claim(self, kernel_id: str, viewer: Viewer) -> None:
        """Hand ``kernel_id`` to ``viewer`` (before the page that names it is sent)."""
        self.owners[kernel_id] = Owner(viewer.user, time.monotonic())
        viewer.kernel_id = kernel_id

    def is_owner(self, kernel_id: str, user: str | None) -> bool:
        owner = self.owners.get(kernel_id)
        if owner is None or not user or kernel_id not in self:
            return False
        return hmac.compare_digest(owner.user.encode(), user.encode())

    def connected(self, kernel_id: str) -> None:
        owner = self.owners.get(kernel_id)
        if owner is not None:
            owner.connections += 1
            owner.left = None

    def disconnected(self, kernel_id: str) -> None:
        owner = self.owners.get(kernel_id)
        if owner is not None:
            owner.connections = max(0, owner.connections - 1)
            if owner.connections == 0:
                owner.left = time.monotonic()

    def abandoned(self, now: float | None = None, user: str | None = None) -> list[str]:
        """Served kernels with no open page: never connected, or left, ``connect_grace`` ago.

        With ``user``: that viewer's kernels whose page has gone (a reload), at once."""
        now = time.monotonic() if now is None else now
        out = []
        for kernel_id, owner in list(self.owners.items()):
            if kernel_id not in self or owner.connections > 0:
                continue
            if user is not None:
                if owner.user == user and owner.left is not None:
                    out.append(kernel_id)
            elif now - (owner.left if owner.left is not None else owner.since) > self.connect_grace:
                out.append(kernel_id)
        return out

    async def shut_down(self, kernel_ids: list[str], why: str) -> None:
        for kernel_id in kernel_ids:
            if kernel_id not in self:
                continue
            self.log.info("Shutting down kernel %s: %s", kernel_id, why)
            try:
                await self.shutdown_kernel(kernel_id)
            except Exception:
                self.log.exception("could not shut down kernel %s", kernel_id)

    async def reap(self) -> None:
        """Shut down the kernels no page uses any more (called periodically)."""
        if not self.closing:
            await self.shut_down(self.abandoned(), "no open page")

    async def release_previous(self, user: str) -> None:
        """The viewer loads the page again: their earlier pages are gone."""
        if not self.closing:
            await self.shut_down(self.abandoned(user=user), "the viewer reloaded the page")

    def refill(self) -> None:
        """Top the preheated pool up (a no-op without a pool)."""


def pooled(voila_kernel_manager: type) -> type:
    """Voila's preheating kernel manager class, made cap-aware (see the module docstring)."""

    class EvidencePoolKernelManager(voila_kernel_manager):
        def _pool_target(self, notebook_name: str | None) -> int:
            default = self.kernel_pools_config.get("default", {})
            config = self.kernel_pools_config.get(notebook_name, default)
            return max(0, int(config.get("pool_size", default.get("pool_size", 1))))

        def fill_if_needed(
            self,
            delay: float | None = None,
            notebook_name: str | None = None,
            extra_kernel_env_variables: dict | None = None,
            **kwargs: Any,
        ) -> None:
            """Start pool kernels up to the pool size, as far as the cap allows.

            Unlike Voila's, ``extra_kernel_env_variables`` (the request of the viewer whose
            page took a kernel) are NOT given to the next pool kernel: they describe another
            viewer. Each task runs in a fresh context, so it is nobody's viewer kernel."""
            if self.closing or notebook_name is None:
                return
            delay = self.fill_delay if delay is None else delay
            pool = self._pools.setdefault(notebook_name, [])
            count = min(self._pool_target(notebook_name) - len(pool), self.room())
            if count <= 0:
                return
            default = self.kernel_pools_config.get("default", {})
            config = self.kernel_pools_config.get(notebook_name, default)
            env = os.environ.copy()
            env.update(kwargs.get("env", {}))
            for key, value in config.get(
                "kernel_env_variables", default.get("kernel_env_variables", {})
            ).items():
                env.setdefault(key, value)
            env["VOILA_BASE_URL"] = self.parent.base_url
            env["VOILA_SERVER_URL"] = self.parent.server_url
            env["VOILA_APP_PORT"] = str(self.parent.port)
            env["VOILA_PREHEAT"] = "True"
            kwargs["env"] = env
            kwargs.setdefault("path", os.path.dirname(notebook_name))
            try:
                loop = asyncio.get_event_loop()
            except RuntimeError:
                loop = asyncio.new_event_loop()
                asyncio.set_event_loop(loop)
            for _ in range(count):
                slot = self.reserve()
                task = loop.create_task(
                    self._preheat(slot, delay, notebook_name, dict(kwargs)),
                    context=contextvars.Context(),
                )
                pool.append(task)
                task.add_done_callback(functools.partial(self._preheated, slot, notebook_name))

        async def _preheat(self, slot: str, delay: float, notebook_name: str, kwargs: dict) -> dict:
            await asyncio.sleep(delay)
            if self.closing:
                raise RoomFull("the server is stopping")
            _POOL_SLOT.set(slot)
            return await self._initialize(notebook_name, None, **kwargs)

        def _preheated(self, slot: str, notebook_name: str, task: asyncio.Task) -> None:
            failed = task.cancelled() or task.exception() is not None
            if failed:
                pool = self._pools.get(notebook_name, [])
                if task in pool:
                    pool.remove(task)  # a viewer must never be handed a failed task
                if slot not in self._kernels:
                    self.release(slot, refill=False)  # the periodic refill retries later
                if not self.closing and not task.cancelled():
                    self.log.error(
                        "Could not preheat a kernel for %s",
                        notebook_name,
                        exc_info=task.exception(),
                    )
                return
            pool = self._pools.get(notebook_name, [])
            if len(pool) >= self._pool_target(notebook_name) and all(t.done() for t in pool):
                self.log.info(FILLED, notebook_name, len(pool))

        async def get_rendered_notebook(
            self, notebook_name: str, extra_kernel_env_variables: dict | None = None, **kwargs
        ):
            viewer = VIEWER.get()
            render_task, rendered, kernel_id = await super().get_rendered_notebook(
                notebook_name, {}, **kwargs
            )
            if viewer is not None:
                self.claim(kernel_id, viewer)
            return render_task, rendered, kernel_id

        def refill(self) -> None:
            if self.notebook_path is not None:
                self.fill_if_needed(notebook_name=self.notebook_path)

    return EvidencePoolKernelManager
