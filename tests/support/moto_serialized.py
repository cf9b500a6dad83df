"""moto's server, handling one request at a time.

moto keeps its DynamoDB tables in memory without locks, so two TransactWriteItems calls that
arrive together can interleave: each checks its conditions before the other writes, and both
commit. DynamoDB applies a transaction atomically. Serializing the requests gives the emulator
that atomicity, which the tests of race-free overlap checks rely on; nothing else changes.

Usage: python moto_serialized.py -H 127.0.0.1 -p PORT   (the arguments of moto_server)
"""

import sys
import threading

import moto.server as server

_one_at_a_time = threading.Lock()


class SerializedDispatcher(server.DomainDispatcherApplication):
    def __call__(self, environ, start_response):
        with _one_at_a_time:
            # Produce the whole body under the lock: the response may be a lazy iterable.
            return list(super().__call__(environ, start_response))


server.DomainDispatcherApplication = SerializedDispatcher

if __name__ == "__main__":
    sys.exit(server.main(sys.argv[1:]))
