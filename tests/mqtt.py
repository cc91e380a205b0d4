"""Helpers for tests against real Mosquitto brokers: a broker of the test's own, a recording subscriber."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt

from tests.conftest import free_tcp_port

HOST = "127.0.0.1"
SHARED_PORT = 1883


async def eventually(predicate: Callable[[], bool], within: float = 10.0, what: str = "condition") -> None:
    """Poll *predicate* until it holds; fail after *within* seconds."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not hold within {within} s")
        await asyncio.sleep(0.02)  # a polling period, bounded by the deadline


@dataclass
class Broker:
    """A mosquitto of the test's own on a loopback port; `start()` and `stop()` it as often as needed."""

    folder: Path
    port: int = field(default_factory=free_tcp_port)
    persistence: bool = False
    password_file: Path | None = None
    process: asyncio.subprocess.Process | None = None

    def config_file(self) -> Path:
        """Write the broker's config file and return its path."""
        # as root, mosquitto would switch to the "mosquitto" user, which cannot read the test's folder
        lines = [f"listener {self.port} {HOST}", f"user {getpass.getuser()}"]
        if self.password_file is not None:
            lines += ["allow_anonymous false", f"password_file {self.password_file}"]
        else:
            lines += ["allow_anonymous true"]
        if self.persistence:
            lines += ["persistence true", f"persistence_location {self.folder}/", "autosave_interval 0"]
        else:
            lines += ["persistence false"]
        path = self.folder / "mosquitto.conf"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    async def start(self, within: float = 10.0) -> None:
        """Start mosquitto and wait until it accepts connections."""
        assert self.process is None
        log = self.folder / "mosquitto.log"
        with log.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                "mosquitto", "-c", str(self.config_file()), stdout=out, stderr=out
            )
        deadline = time.monotonic() + within
        while not await _accepts(self.port):
            if self.process.returncode is not None:
                text = log.read_text(errors="replace")
                raise AssertionError(f"mosquitto exited with {self.process.returncode}: {text}")
            if time.monotonic() > deadline:
                raise AssertionError(f"mosquitto did not listen on {self.port} within {within} s")
            await asyncio.sleep(0.02)  # a polling period, bounded by the deadline

    async def stop(self, within: float = 10.0) -> None:
        """Stop mosquitto (SIGTERM, then SIGKILL) and wait until it is gone."""
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            async with asyncio.timeout(within):
                await process.wait()
        except TimeoutError:
            process.kill()
            async with asyncio.timeout(within):
                await process.wait()


async def _accepts(port: int) -> bool:
    try:
        async with asyncio.timeout(1.0):
            _, writer = await asyncio.open_connection(HOST, port)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


@dataclass(frozen=True)
class Received:
    """One message a subscriber got."""

    topic: str
    payload: dict[str, Any]
    retain: bool


@dataclass
class Subscriber:
    """Records what arrives on a topic filter; reconnects by itself when the broker goes away."""

    messages: list[Received] = field(default_factory=list)
    subscribed: asyncio.Event = field(default_factory=asyncio.Event)
    connections: int = 0

    async def until(self, predicate: Callable[[list[Received]], bool], within: float = 10.0) -> None:
        """Wait until *predicate* holds for the messages so far."""
        await eventually(lambda: predicate(self.messages), within, "the subscriber's expectation")

    def ids(self) -> list[str]:
        """Return the payload ids in arrival order (with duplicates)."""
        return [m.payload["id"] for m in self.messages]


@asynccontextmanager
async def subscribed(
    topic: str,
    *,
    port: int = SHARED_PORT,
    identifier: str | None = None,
    persistent: bool = False,
    credentials: tuple[str, str] | None = None,
) -> AsyncIterator[Subscriber]:
    """Subscribe to *topic* (QoS 1) for the block; a *persistent* session keeps its queue across reconnects."""
    subscriber = Subscriber()

    async def listen() -> None:
        while True:
            try:
                username, password = credentials or (None, None)
                async with aiomqtt.Client(
                    HOST,
                    port,
                    username=username,
                    password=password,
                    identifier=identifier,
                    clean_session=not persistent,
                    timeout=5,
                ) as client:
                    await client.subscribe(topic, qos=1)
                    subscriber.connections += 1
                    subscriber.subscribed.set()
                    async for message in client.messages:
                        assert isinstance(message.payload, bytes)
                        if message.payload:  # an empty payload clears a retained message
                            payload = json.loads(message.payload)
                            subscriber.messages.append(Received(str(message.topic), payload, message.retain))
            except aiomqtt.MqttError:
                subscriber.subscribed.clear()
                await asyncio.sleep(0.05)  # a polling period while the broker is away

    task = asyncio.create_task(listen(), name="test-subscriber")
    try:
        async with asyncio.timeout(10):
            await subscriber.subscribed.wait()
        yield subscriber
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def clear_retained(topics: list[str], port: int = SHARED_PORT) -> None:
    """Remove retained messages from the shared broker."""
    async with aiomqtt.Client(HOST, port, timeout=5) as client:
        for topic in topics:
            await client.publish(topic, b"", qos=1, retain=True)
