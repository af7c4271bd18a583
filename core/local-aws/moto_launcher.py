"""Runs moto's own server (moto.server.main, what `moto_server` runs) with two fixes.

1. moto's DynamoDB TransactWriteItems deep-copies each table for its rollback while other request
   threads may be writing to it ("dictionary changed size during iteration", a 500). Real DynamoDB
   has no such race, so DynamoDB requests are serialized here; every other service stays threaded.
2. That rollback copy is of the whole table, once per item of the transaction: a transaction costs
   O(table size), which made every registry transaction slower as tenants were added (a cost real
   DynamoDB does not have). Here the items a transaction targets are saved instead, and put back
   when it is cancelled: the same all-or-nothing outcome, at a cost that does not grow with the
   table. Set TCP_MOTO_TABLE_COPY=1 to run moto's own rollback.

Exit code 3 when moto is not importable by this interpreter, so the caller can fall back.
"""
import copy
import os
import sys
import threading

try:
    import moto.dynamodb.models as dynamodb_models
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table
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


class _TablesNotCopied:
    """Stands in for the `copy` module inside moto's DynamoDB backend during a transaction."""

    @staticmethod
    def deepcopy(value, memo=None):
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    def __getattr__(self, name):
        return getattr(copy, name)


def _targets(backend, transact_items):
    """(table, key, attributes before) for each item the transaction touches."""
    saved = []
    for entry in transact_items:
        try:
            _, op = next(iter(entry.items()))
            table = backend.get_table(op["TableName"])
            if "Item" in op:
                key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = op["Item"][table.range_key_attr]
            else:
                key = op["Key"]
            current = backend.get_item(op["TableName"], key)
            saved.append((op["TableName"], key, copy.deepcopy(current.to_json()["Attributes"]) if current else None))
        except Exception:
            # A malformed entry: moto's own validation reports it, before anything is written.
            continue
    return saved


_transact_write_items = DynamoDBBackend.transact_write_items


def _transact_with_item_rollback(self, transact_items):
    saved = _targets(self, transact_items)
    dynamodb_models.copy = _TablesNotCopied()
    try:
        return _transact_write_items(self, transact_items)
    except Exception:
        for table_name, key, before in reversed(saved):
            if before is None:
                if self.get_item(table_name, key) is not None:
                    self.delete_item(table_name, key)
            else:
                self.put_item(table_name, before)
        raise
    finally:
        dynamodb_models.copy = copy


if os.environ.get("TCP_MOTO_TABLE_COPY") != "1":
    # Safe to swap the module's `copy` during a call: DynamoDB requests are serialized above.
    DynamoDBBackend.transact_write_items = _transact_with_item_rollback

if __name__ == "__main__":
    main(sys.argv[1:])
