"""The sandbox engine: plain Python, importable and testable without Django.

parse a command line (cli) → decide if it is allowed (policy) → map keys into
the learner's namespace (namespace) → run it (runner) → format the reply (cli).
"""
