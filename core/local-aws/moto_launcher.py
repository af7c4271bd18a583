"""Runs moto's own server (moto.server.main, what `moto_server` runs) with one fix.

moto's DynamoDB TransactWriteItems deep-copies each table for its rollback while other request
threads may be writing to it ("dictionary changed size during iteration", a 500). Real DynamoDB
has no such race, so DynamoDB requests are serialized here; every other service stays threaded.
Exit code 3 when moto is not importable by this interpreter, so the caller can fall back.
"""
import sys
import threading

try:
    from moto.dynamodb.responses import DynamoHandler
    from moto.server import main
except ImportError:
    sys.exit(3)

_lock = threading.Lock()
_call_action = DynamoHandler.call_action


def _serialized_call_action(self):
    with _lock:
        return _call_action(self)


DynamoHandler.call_action = _serialized_call_action

if __name__ == "__main__":
    main(sys.argv[1:])
