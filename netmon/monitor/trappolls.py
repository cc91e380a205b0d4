"""Trap-triggered polls: a device that sends linkDown/linkUp/coldStart/warmStart is polled at once.

The poll decides, not the trap: the trap only moves the device's next poll forward. Each poll
goes through `poll_target()` like a scheduled round's, so a poller that raises gives an `error`
sample and the loop goes on (issue 11: it used to end the daemon). Agents may answer from a
cache for seconds after a link change (net-snmp keeps its ifTable ~5 s), so a linkDown/linkUp
also gets a confirming poll `TRAP_CONFIRM_DELAY` seconds later.

Traps for a device whose poll is still waiting join that poll: a rebooting 48-port switch sends
a coldStart and 48 linkDowns within a second, and one poll sees them all (a poll per trap was a
poll storm, each a full walk of the same device). A trap that arrives while its device's poll
runs queues one more, since that poll may have read the device before the change.
"""

from __future__ import annotations

import asyncio
import functools

from netmon.kernel import Target, utcnow
from netmon.monitor.rounds import RoundResult
from netmon.pollers.registry import poll_target
from netmon.pollers.trapevent import TrapEvent
from netmon.runtime import Runtime, require

__all__ = ["QUEUE_LIMIT", "TRAP_CONFIRM_DELAY", "TrapPolls"]

#: Seconds after a linkDown/linkUp trap's poll until the confirming second poll.
TRAP_CONFIRM_DELAY = 6.0
#: Trap polls waiting at most; beyond, a trap waits for its device's next round.
QUEUE_LIMIT = 1000
_LINK_TRAPS = ("linkDown", "linkUp")


class TrapPolls:
    """The trap receiver's callbacks (`sources`, `on_trap`) and the `trap-polls` task (`run`)."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._queue: asyncio.Queue[tuple[str, bool]] = asyncio.Queue(maxsize=QUEUE_LIMIT)
        #: The waiting polls, by (device, confirming): the trap each polls for (a link trap first).
        self._pending: dict[tuple[str, bool], TrapEvent] = {}
        self._full_warned = False
        self._addresses: tuple[int, dict[str, tuple[str, str | None]]] = (0, {})

    def sources(self) -> dict[str, tuple[str, str | None]]:
        """Map device addresses to (name, profile) for the trap receiver; rebuilt only after a reload."""
        rt = self._runtime
        if self._addresses[0] != rt.reloads or not self._addresses[1]:
            devices = rt.live.inventory.devices
            self._addresses = (rt.reloads, {d.address: (n, d.snmp) for n, d in devices.items() if d.enabled})
        return self._addresses[1]

    @property
    def queued(self) -> int:
        """Return how many polls wait (immediate and confirming)."""
        return self._queue.qsize()

    def pending(self) -> dict[str, str]:
        """Return the devices whose immediate (not confirming) poll waits, with the trap it polls for."""
        return {device: event.trap for (device, again), event in self._pending.items() if not again}

    def on_trap(self, event: TrapEvent, *, again: bool = False) -> None:
        """Queue a poll of the trap's device (*again*: the confirming poll), unless one already waits."""
        key = (event.device, again)
        waiting = self._pending.get(key)
        if waiting is not None:
            if event.trap in _LINK_TRAPS and waiting.trap not in _LINK_TRAPS:
                self._pending[key] = event  # the poll then gets its confirming poll
            return
        try:
            self._queue.put_nowait(key)
        except asyncio.QueueFull:
            if not self._full_warned:  # once per storm, not once per trap
                self._full_warned = True
                self._runtime.log.warning("trap storm: immediate polls are queued to the limit; later traps wait")
            return
        self._pending[key] = event

    async def run(self) -> None:
        """Poll each trap's device with every trap-polled class that applies, in registry order."""
        loop = asyncio.get_running_loop()
        me = asyncio.current_task()
        while True:
            if me is not None and me.cancelling():  # a poller swallowed the cancellation (gufo-ping can)
                raise asyncio.CancelledError
            if self._queue.empty():
                self._full_warned = False
            key = await self._queue.get()
            event, again = self._pending.pop(key), key[1]
            if not again and event.trap in _LINK_TRAPS:
                loop.call_later(TRAP_CONFIRM_DELAY, functools.partial(self.on_trap, event, again=True))
            await self._poll(event)

    async def _poll(self, event: TrapEvent) -> None:
        rt = self._runtime
        live, pollers = rt.live, require(rt.pollers)
        device = live.inventory.devices.get(event.device)
        if device is None or not device.enabled:
            return
        target = Target(
            device=event.device, address=device.address, unit=device.unit, role=device.role, snmp=device.snmp
        )
        for name, poll_class in pollers.classes.items():  # registry order: interfaces before ping
            if not poll_class.trap_polled or not poll_class.applies(target):
                continue
            started = utcnow()
            samples = await poll_target(poll_class, target, why="trap")  # never raises for the device's sake
            result = RoundResult(poll_class=name, started=started, duration=0.0, samples=tuple(samples))
            async with rt.conclude_lock:  # the view of now (a reload may have replaced it meanwhile)
                rt.live.record(samples)
                transitions = await rt.live.conclude_async(result, utcnow(), extra=True)
            require(rt.pipeline).publish(transitions)
        rt.wake()
