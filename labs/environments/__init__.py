"""Private lab environments: real Valkey/Redis nodes of a learner's own.

Modules, in the order a request meets them:

- `service.py`: Django settings and the app Redis in; one `Lifecycle` per process.
- `lifecycle.py`: one environment per learner, the site-wide cap and its queue,
  idle timeout, maximum lifetime, `sweep()`.
- `registry.py`: the shared record in the app Redis (atomic admission in Lua).
- `provider.py`: the `Provider` protocol and the values it returns
  (`Environment`, `Topology`, `Timeline`).
- `local.py`: the local-process provider: start and stop, fail a node, test a
  failover, restore a node. It delegates to:
  - `build.py`: launching the nodes and joining them into a cluster or a
    replication group with Sentinels;
  - `topology.py`: reading the servers (the control connection, who is
    primary, the `Topology` for status, the checks start and restore wait on);
  - `watch.py`: the failover watcher thread that fills in a `Timeline`;
  - `replies.py`: parsing CLUSTER NODES and INFO-style replies.
- `nodes.py`: processes: ports, config files, the launcher thread, /proc checks.
- `orphans.py`: cleaning up after a site process that crashed.

Everything but `service.py` is plain Python with settings passed in.

## Who may do what on a node

Each environment has two users on every node, both with per-environment
random passwords (never shown to the learner, never on a command line: they
sit in 0600 config files in the environment's 0700 folder):

- `cachelab-control`, the site's: all commands, all keys. Replicas
  authenticate to primaries as it (`masteruser`/`masterauth`), and Sentinel
  as well, so a node of one environment cannot replicate from another's (it
  would need that environment's password), nor from the app or sandbox Redis.
- `default`, the learner's (the REPL, when it comes, connects as it): every
  command except those in `nodes.LEARNER_DENIED` — anything that makes a node
  connect somewhere (REPLICAOF, MIGRATE, FAILOVER, CLUSTER MEET), pulls a
  replication stream, changes configuration or users (CONFIG SET, ACL
  SETUSER/DELUSER), stops the node or watches other clients. The server
  refuses these itself, so a bug in the REPL's policy cannot hand them out.

ACL rules cannot say "any user but that one", so a learner who may run ACL
SETUSER could rewrite the control user. The REPL therefore never passes those
commands through: it checks them (the target is not `cachelab-control`; a
MIGRATE or CLUSTER MEET names a node of the same environment; a CONFIG SET is
on the allowlist) and runs them on the control connection, appending to every
ACL SETUSER the same denials as `default`'s, so a user the learner creates
can never hold more than `default` does.

Nodes also start with `enable-protected-configs no`, `enable-debug-command no`
and `enable-module-command no` (not even the control user can move `dir` or
load code), a small `maxmemory` with a fixed policy, 1 MB bulk and query
buffer limits, 64 clients, and no persistence but snapshots in the
environment's folder.
"""
