"""The Memcached console's engine: plain Python, importable and testable without Django.

A request (a command line, and for a storage command its data block on the
next line) goes through these stages, in this order (console.py calls them):

 1. keep     ledger.py      take a rate token; read the learner's key index
 2. split    protocol.py    the command line and its data block, as memcached
                            tokenises them; one command per request
 3. refuse   fence.py       every command that sees or changes the whole server,
                            unknown commands, bad keys, data blocks whose length
                            does not match, base64 keys (the parser is the only
                            fence: a plain memcached has no users or ACLs)
 4. bound    console.py     the learner's key and byte quota, measured on the
                            server (`mg <key> s`) before any write
 5. map      fence.py       every key gets the learner's prefix
 6. reach    connection.py  a fresh connection per request, the command and then
                            `mn`, read up to the `MN` fence (noreply and quiet
                            commands cannot leave a reply behind for the next)
 7. map back fence.py       keys in VALUE lines and meta `k` flags back out of
                            the prefix; data blocks and byte counts untouched
 8. keep     ledger.py      index the keys written; the transcript entry

`stats` alone is answered from the learner's own keys (never the server's
global counters); everything else is what the server sent, byte for byte.
"""
