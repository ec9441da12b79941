"""The sandbox engine: plain Python, importable and testable without Django.

A learner's line goes through these stages, in this order (runner.py calls
them; each module's docstring describes its own):

 1. keep     ledger.py       take a rate token (every request pays, whatever it
                             holds), bound new namespaces per client address,
                             read the open transaction and the key count
 2. refuse   policy.py       the line's size
 3. split    cli.py          split the line exactly as redis-cli does
 4. know     commands.py     COMMAND INFO: flags, categories, key specs
 5. refuse   policy.py       the command and its options
 6. bound    limits.py       key positions, then the policy's checks of the
                             arguments, room on the server, key quota, value sizes
 7. emulate  transaction.py  inside MULTI: queue (bounded); EXEC sends it all
             keyspace.py     KEYS/SCAN/DBSIZE/RANDOMKEY narrowed to the learner
 8. map      namespace.py    key arguments into the learner's namespace;
             policy.py       blocking timeouts clamped
 9. reach    connection.py   run as the confined ACL user; a blocking command
             ledger.py       first leases a site-wide slot and pays its budget
10. map back namespace.py    key names in the reply back out of the namespace
11. print    cli.py          the reply exactly as redis-cli prints it
12. keep     ledger.py       index the keys written; keep the transcript entry and
                             history line, each bounded

A target (runner.Target) decides the policy, the key mapping and where the
command goes; the shared server (runner.Sandbox) is the first.
"""
