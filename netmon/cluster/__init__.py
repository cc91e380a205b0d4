"""Several pollers on one PostgreSQL database: poller groups, leases, ownership and fencing (issue 19).

No home-made consensus (DESIGN.md, "Scale and distribution"): PostgreSQL is the arbiter.

- `groups`: which poller group each object is in, and which live poller owns it (rendezvous
  hashing of the object's shard over the group's live pollers). Pure, no I/O.
- `membership`: the `poller_members` table: join (a new, larger epoch), heartbeat (extend the
  lease), leave, read the live members, and `fence()`, the check every state write makes in its
  own transaction.
- `node`: the running poller's side: the heartbeat task, the owned part of the inventory, and
  the hand-over of objects (restored from the database as a restart does).
"""
