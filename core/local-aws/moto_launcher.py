"""Runs moto's own server (moto.server.main, what `moto_server` runs) with three fixes.

1. moto's DynamoDB TransactWriteItems deep-copies each table for its rollback while other request
   threads may be writing to it ("dictionary changed size during iteration", a 500). Real DynamoDB
   has no such race, so DynamoDB requests are serialized here; every other service stays threaded.
2. That rollback copy is of the whole table, once per item of the transaction: a transaction costs
   O(table size), which made every registry transaction slower as tenants were added (a cost real
   DynamoDB does not have). Here the items a transaction targets are saved instead, and put back
   when it is cancelled: the same all-or-nothing outcome, at a cost that does not grow with the
   table.
3. moto answers every Query by sorting and filtering every item of the table, so a Query costs
   O(table size) where DynamoDB's costs O(items read). Here a Query looks only at the items whose
   partition key (of the table or the index queried) has the value asked for, from a lookup built
   on first use and dropped at any write to that table; moto's own query code then runs unchanged on them, so
   answers, order and paging are moto's.
Fixes 2 and 3 only change what a request costs, not what it answers; TCP_MOTO_UNPATCHED=1 turns them
off, to measure moto as it ships.

Exit code 3 when moto is not importable by this interpreter, so the caller can fall back.
"""
import copy
import inspect
import json
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
_READS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems", "DescribeTable", "ListTables",
          "DescribeTimeToLive", "DescribeContinuousBackups", "ListTagsOfResource", "DescribeEndpoints"}
# (table name, id(table), index, attribute) -> {value: {items, sorted: {order: items}}}, for fix 3.
_partitions = {}


def _written_tables(handler):
    """The tables a write request names; None when it cannot tell (then every lookup is dropped)."""
    params = getattr(handler, "params", None)
    if not isinstance(params, dict):
        try:
            params = json.loads(handler.body or "{}")
        except (TypeError, ValueError):
            return None
    names = set(params.get("RequestItems") or {})
    if params.get("TableName"):
        names.add(params["TableName"])
    for entry in params.get("TransactItems") or []:
        for op in entry.values():
            if isinstance(op, dict) and op.get("TableName"):
                names.add(op["TableName"])
    return names or None


def _serialized_call_action(self):
    with _lock:
        action = (self.headers.get("X-Amz-Target") or "").rsplit(".", 1)[-1]
        if action not in _READS:
            tables = _written_tables(self)
            for key in [k for k in _partitions if tables is None or k[0] in tables]:
                del _partitions[key]
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


_query = Table.query
_query_signature = inspect.signature(_query)


def _value_key(value):
    return (value.type, repr(value.value))


def _query_on_partition(self, hash_key, *args, **kwargs):
    named = _query_signature.bind(self, hash_key, *args, **kwargs).arguments
    conditions = named.get("hash_key_conditions") or []
    index_name = named.get("index_name")
    if index_name:
        index = next((i for i in self.all_indexes() if i.name == index_name), None)
        keys = {k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"} if index else set()
        attr, value = conditions[0] if conditions else (None, None)
    else:
        keys = {self.hash_key_attr}
        attr, value = self.hash_key_attr, hash_key
    if attr not in keys or value is None:
        return _query(self, hash_key, *args, **kwargs)
    lookup = _partitions.get((self.name, id(self), index_name, attr))
    if lookup is None:
        lookup = {}
        for item in self.all_items():
            found = item.attrs.get(attr)
            if found is not None:
                lookup.setdefault(_value_key(found), {"items": [], "sorted": {}})["items"].append(item)
        _partitions[(self.name, id(self), index_name, attr)] = lookup
    partition = lookup.get(_value_key(value), {"items": [], "sorted": {}})
    sorted_items = self.sorted_items

    def sorted_once(hash_attrs, range_attrs, items):
        # Every item of the partition passed moto's key checks: its order is the same every time.
        if len(items) != len(partition["items"]):
            return sorted_items(hash_attrs, range_attrs, items)
        order = (tuple(hash_attrs), tuple(range_attrs))
        if order not in partition["sorted"]:
            partition["sorted"][order] = sorted_items(hash_attrs, range_attrs, list(items))
        return list(partition["sorted"][order])

    # moto's query reads self.all_items() and sorts with self.sorted_items(): both shadowed by
    # the partition's items, for this call only.
    self.all_items = lambda: list(partition["items"])
    self.sorted_items = sorted_once
    try:
        return _query(self, hash_key, *args, **kwargs)
    finally:
        del self.all_items
        del self.sorted_items


if os.environ.get("TCP_MOTO_UNPATCHED") != "1":
    # Safe to swap the module's `copy` during a call: DynamoDB requests are serialized above.
    DynamoDBBackend.transact_write_items = _transact_with_item_rollback
    Table.query = _query_on_partition

if __name__ == "__main__":
    main(sys.argv[1:])
