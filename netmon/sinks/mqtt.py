"""The MQTT publisher: drains the outbox to the broker, in order, at QoS 1, reconnecting with backoff.

    async with MqttPublisher(config.mqtt, engine, log=log) as publisher:
        ...  # the recorder writes messages with Outbox.add(conn, ...) in its transaction,
        publisher.wake()  # ... then pokes the publisher

Entering starts one named task ("mqtt-publisher") in the publisher's own TaskGroup. The task
connects, publishes every pending message in id order, deletes each batch once the broker has
acknowledged it (PUBACK), then waits for `wake()` or `IDLE_WAKE` seconds. On a broker or network
error (`aiomqtt.MqttError`, `OSError`) it reconnects after a capped, fully jittered exponential
backoff; a database error (`StoreError`) is retried the same way while staying connected. Any
other error is a bug and ends the task group. Leaving makes one last drain attempt bounded by
`STOP_TIMEOUT`; what is still pending then stays in the outbox for the next start.

After every (re)connect, once the outbox is drained, the last recorded state of every device and
link is published again, retained: a broker restarted without persistence has it back at once.

Delivery is at least once: a crash between PUBACK and delete sends a message again (a failed
delete does not: the acknowledged ids are remembered and deleted on the next drain), so
subscribers drop messages whose payload `id` they have already seen. Order is kept: a message
is published only after every message before it was acknowledged.

With *shared* (several pollers on one PostgreSQL database, issue 19), each batch is a claim
(`Outbox.claim`): one poller drains at a time, in id order, and deletes what the broker
acknowledged in the claim's own transaction; the others stand by until the next wake-up.

The password is only given to the MQTT client; logs, errors and `repr` show `***`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import ssl
import time
from types import TracebackType
from typing import Any, Self

import aiomqtt
import structlog
from sqlalchemy.engine import Engine

from netmon.config import MqttConfig
from netmon.errors import StoreError
from netmon.secrets import REDACTED
from netmon.sinks.events import retained_states
from netmon.sinks.outbox import CLAIM_IDLE_TIMEOUT, Outbox

__all__ = [
    "BACKOFF_CAP",
    "BACKOFF_FIRST",
    "BATCH",
    "IDLE_WAKE",
    "OPERATION_TIMEOUT",
    "STOP_TIMEOUT",
    "MqttPublisher",
]

#: Seconds between outbox checks when nobody calls `wake()`.
IDLE_WAKE = 5.0
#: First and longest reconnect delay (seconds); each wait is uniform in [0, delay] (full jitter).
BACKOFF_FIRST, BACKOFF_CAP = 0.5, 30.0
#: Seconds the broker has to accept a connection or acknowledge a message.
OPERATION_TIMEOUT = 5.0
#: Seconds the last drain may take when the publisher stops.
STOP_TIMEOUT = 5.0
#: Messages read from the outbox at a time (and deleted together once acknowledged).
BATCH = 100


class MqttPublisher:
    """Publishes the outbox to *config*'s broker; counts `published`, `pending_estimate`, `connected`, `reconnects`."""

    def __init__(
        self,
        config: MqttConfig,
        engine: Engine,
        *,
        log: Any = None,
        idle_wake: float = IDLE_WAKE,
        backoff: tuple[float, float] = (BACKOFF_FIRST, BACKOFF_CAP),
        timeout: float = OPERATION_TIMEOUT,
        stop_timeout: float = STOP_TIMEOUT,
        batch: int = BATCH,
        shared: bool = False,
    ) -> None:
        self.config = config
        self.shared = shared
        self.outbox = Outbox(engine)
        self.log = log if log is not None else structlog.get_logger("netmon.mqtt")
        self.published = 0  # messages acknowledged by the broker
        self.pending_estimate = 0  # messages in the outbox when last counted, less those sent since
        self.connected = False  # as of the last connect, publish or failure
        self.reconnects = 0  # connection failures followed by a retry
        self.republished = 0  # retained states sent again after a (re)connect
        self._acknowledged: set[int] = set()  # outbox ids the broker acknowledged, not yet deleted
        self._idle_wake = idle_wake
        self._backoff = backoff
        self._timeout = timeout
        self._stop_timeout = stop_timeout
        self._batch = batch
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        self._tls: ssl.SSLContext | None = None
        self._tasks: asyncio.TaskGroup | None = None
        self._task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        c = self.config
        password = REDACTED if c.password is not None else None
        return f"MqttPublisher({c.host}:{c.port}, username={c.username!r}, password={password!r}, tls={c.tls})"

    def wake(self) -> None:
        """Tell the publisher that new messages are in the outbox (call it on the event loop's thread)."""
        self._wakeup.set()

    async def __aenter__(self) -> Self:
        """Start the publishing task (nothing when MQTT is disabled in the config)."""
        if not self.config.enabled:
            return self
        if self.config.tls:
            self._tls = await asyncio.to_thread(self._tls_context)  # reads the CA file
        self._tasks = asyncio.TaskGroup()
        await self._tasks.__aenter__()
        self._task = self._tasks.create_task(self._run(), name="mqtt-publisher")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Make one last drain attempt, bounded by the stop timeout, then stop."""
        if self._tasks is None or self._task is None:
            return
        self._stopping.set()
        self._wakeup.set()
        _, running = await asyncio.wait({self._task}, timeout=self._stop_timeout)
        if running:
            self._task.cancel()
            self.log.warning("mqtt: stopped before the outbox was drained", pending=self.pending_estimate)
        tasks, self._tasks = self._tasks, None
        self.connected = False
        # the block's own exception goes on as it is, not wrapped in the task group's ExceptionGroup
        await tasks.__aexit__(None, None, None)

    # ---- the task ------------------------------------------------------------------------------

    async def _run(self) -> None:
        first, cap = self._backoff
        delay = first
        while True:
            last_try = self._stopping.is_set()
            try:
                async with self._client() as client:
                    self.connected = True
                    self.log.info("mqtt connected", host=self.config.host, port=self.config.port)
                    delay = await self._serve(client, delay, first)
            except (aiomqtt.MqttError, OSError) as exc:
                self.connected = False
                if last_try or self._stopping.is_set():
                    self.log.warning(
                        "mqtt: broker unavailable while stopping; messages wait in the outbox",
                        error=self._describe(exc),
                        pending=self.pending_estimate,
                    )
                    return
                self.reconnects += 1
                wait = random.uniform(0, delay)  # noqa: S311 (jitter, not cryptography)
                self.log.warning(
                    "mqtt: broker unavailable; reconnecting",
                    host=self.config.host,
                    port=self.config.port,
                    error=self._describe(exc),
                    retry_in=round(wait, 3),
                )
                delay = min(delay * 2, cap)
                await self._pause(wait)
                await self._count()
            else:
                self.connected = False
                return

    async def _serve(self, client: aiomqtt.Client, delay: float, first: float) -> float:
        """Drain, republish the retained states once, then wait for a wake-up, until stopping.

        Return the backoff delay to start from.
        """
        republish = True
        while True:
            stopping = self._stopping.is_set()
            self._wakeup.clear()
            try:
                await self._drain(client)
                if republish:
                    await self._republish(client)
                    republish = False
                delay = first  # a connection that works resets the backoff
            except StoreError as exc:
                wait = random.uniform(0, delay)  # noqa: S311 (jitter, not cryptography)
                self.log.warning("mqtt: cannot read the outbox; retrying", error=str(exc), retry_in=round(wait, 3))
                delay = min(delay * 2, self._backoff[1])
                if not stopping:
                    await self._pause(wait)
                    continue
            if stopping:
                return delay
            await self._idle(client)

    async def _idle(self, client: aiomqtt.Client) -> None:
        """Wait for `wake()` or the idle period; raise MqttError as soon as the broker goes away.

        With an empty outbox nothing is published, so a lost connection would go unnoticed (and
        the retained states unrepublished) until the next event: aiomqtt's message iterator ends
        with MqttError on a disconnect, so the wait listens to it (nothing is subscribed, so no
        message arrives).
        """
        gone = asyncio.ensure_future(anext(aiter(client.messages)))
        woken = asyncio.ensure_future(self._wakeup.wait())
        try:
            done, _ = await asyncio.wait({gone, woken}, timeout=self._idle_wake, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in (gone, woken):
                waiter.cancel()
            await asyncio.gather(gone, woken, return_exceptions=True)
        if gone in done and not gone.cancelled():
            gone.result()  # raises the MqttError of the disconnect

    async def _drain(self, client: aiomqtt.Client) -> None:
        """Publish every pending message in order; delete each batch once acknowledged.

        A message the broker acknowledged but the database would not let go (the delete failed:
        database down, read-only, disk full) is remembered and only deleted next time, not sent
        again (issue 15: two messages were delivered twice after a read-only database).
        """
        self.pending_estimate = await asyncio.to_thread(self.outbox.count)
        if self.shared:
            await self._drain_claimed(client)
            return
        while batch := await asyncio.to_thread(self.outbox.pending, self._batch):
            done = [item.id for item in batch if item.id in self._acknowledged]
            try:
                for item in batch:
                    if item.id in self._acknowledged:
                        continue
                    m = item.message
                    await client.publish(m.topic, m.payload.encode(), qos=1, retain=m.retain, timeout=self._timeout)
                    self._acknowledged.add(item.id)
                    done.append(item.id)
                    self.published += 1
            finally:
                if done:  # acknowledged: even when a later publish failed
                    await asyncio.to_thread(self.outbox.delete, done)  # StoreError: they stay acknowledged
                    self._acknowledged.difference_update(done)
                    self.pending_estimate = max(self.pending_estimate - len(done), 0)
        self.pending_estimate = 0

    async def _drain_claimed(self, client: aiomqtt.Client) -> None:
        """Drain as one of several pollers: claim a batch, publish it in order, delete it in the claim.

        A failed publish ends the claim with what was acknowledged deleted; a failed delete leaves
        the messages to be sent again (at least once). Stops when another poller holds the drain.
        A claim older than half of `CLAIM_IDLE_TIMEOUT` (the process was paused) publishes nothing
        more: the server may have ended it, and another drainer may have sent what follows.
        """
        while (claim := await asyncio.to_thread(self.outbox.claim, self._batch)) is not None:
            if not claim.items:
                await asyncio.to_thread(self.outbox.release, claim)
                break
            done: list[int] = []
            claimed = time.monotonic()
            try:
                for item in claim.items:
                    if time.monotonic() - claimed > CLAIM_IDLE_TIMEOUT / 2:
                        break
                    m = item.message
                    await client.publish(m.topic, m.payload.encode(), qos=1, retain=m.retain, timeout=self._timeout)
                    done.append(item.id)
                    self.published += 1
            finally:
                await asyncio.to_thread(self.outbox.finish, claim, done)
                self.pending_estimate = max(self.pending_estimate - len(done), 0)
        self.pending_estimate = 0 if claim is not None else self.pending_estimate

    async def _republish(self, client: aiomqtt.Client) -> None:
        """Publish every device's and link's last recorded state again, retained (issue 15, failure 6).

        A broker restarted without persistence forgets retained messages: without this, a late
        subscriber saw nothing for objects that had not changed since. The states come from the
        state history, which the recorder writes in the same transaction as the outbox, and the
        outbox was drained just before: what goes out is what the broker last had, never older.
        Objects whose last state is `removed` are not republished.
        """
        messages = await asyncio.to_thread(retained_states, self.outbox.engine, self.config.topic_prefix)
        for m in messages:
            await client.publish(m.topic, m.payload.encode(), qos=1, retain=True, timeout=self._timeout)
        self.republished += len(messages)
        self.log.info("mqtt: retained states republished", count=len(messages))

    async def _count(self) -> None:
        with contextlib.suppress(StoreError):
            self.pending_estimate = await asyncio.to_thread(self.outbox.count)

    async def _pause(self, seconds: float) -> None:
        """Wait *seconds* (a backoff), or less when the publisher is stopping."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()

    def _client(self) -> aiomqtt.Client:
        c = self.config
        return aiomqtt.Client(
            hostname=c.host,
            port=c.port,
            username=c.username,
            password=c.password.reveal() if c.password is not None else None,
            identifier=c.client_id,
            keepalive=c.keepalive,
            tls_context=self._tls,
            timeout=self._timeout,
        )

    def _tls_context(self) -> ssl.SSLContext:
        cafile = str(self.config.ca_file) if self.config.ca_file is not None else None
        return ssl.create_default_context(cafile=cafile)

    def _describe(self, exc: BaseException) -> str:
        """Describe a connection error in one line, without the password even if a library echoed it."""
        text = str(exc).strip() or type(exc).__name__
        if self.config.password is not None:
            text = text.replace(self.config.password.reveal(), REDACTED)
        return text
