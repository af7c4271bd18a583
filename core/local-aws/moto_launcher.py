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
   partition key has the value asked for: on the table itself, moto's own entry for that key (its
   items are held by partition key); on an index, a lookup built on first use and dropped at any
   write to that table. moto's own query code then runs unchanged on them, so answers, order and
   paging are moto's.
Fixes 2 and 3 only change what a request costs, not what it answers; TCP_MOTO_UNPATCHED=1 turns them
off, to measure moto as it ships.

4. moto keeps its state in memory only. With TCP_MOTO_STATE_FILE set, the launcher keeps a snapshot
   of every backend moto has in use in that file (stdlib pickle, written to a temporary file then
   renamed, so a crash mid-write leaves the previous snapshot): at SIGTERM/SIGINT (`npm run
   local-aws:stop`, a reboot's shutdown) and, while requests change state, every
   TCP_MOTO_SNAPSHOT_SECONDS (default 1; or 10x the last save's duration when that is longer), so a
   SIGKILL or a power cut loses at most that much.
   A snapshot is taken between requests (new requests wait, running ones finish first), so it never
   holds half a request. At start the file, if present, is loaded before the first request: ids,
   ARNs, accounts, access keys and timestamps are moto's own, not re-created.

Exit code 3 when moto is not importable by this interpreter, so the caller can fall back.
"""
import copy
import inspect
import io
import json
import os
import pickle
import signal
import sys
import threading
import time
from urllib.parse import parse_qs

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
    if not index_name:
        # The table's own partition is moto's own dict entry: nothing to build, nothing to drop.
        held = self.items.get(value)
        if held is None:
            own = []
        else:
            own = list(held.values()) if self.range_key_attr is not None else [held]
        self.all_items = lambda: list(own)
        try:
            return _query(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items
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

# ---- 4. snapshot and restore -------------------------------------------------------------------

_READ_PREFIXES = ("Describe", "List", "Get", "Query", "Scan", "BatchGet", "TransactGet", "Head")
_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))


class _Gate:
    """Requests share it; a snapshot takes it alone, once the requests in flight have finished."""

    def __init__(self):
        self._cond = threading.Condition()
        self._active = 0
        self._closed = False

    def enter(self):
        with self._cond:
            while self._closed:
                self._cond.wait()
            self._active += 1

    def leave(self):
        with self._cond:
            self._active -= 1
            self._cond.notify_all()

    def close(self, timeout):
        """Stops new requests and waits for running ones; False (and open again) after `timeout` s,
        e.g. when a request waits on another request to moto itself."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._closed:
                self._cond.wait()
            self._closed = True
            while self._active > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    self._closed = False
                    self._cond.notify_all()
                    return False
                self._cond.wait(left)
            return True

    def open(self):
        with self._cond:
            self._closed = False
            self._cond.notify_all()


def _action(environ):
    """The AWS action a request names (JSON target, query or form Action), else its HTTP method."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1]
    query = parse_qs(environ.get("QUERY_STRING", ""))
    if "Action" in query:
        return query["Action"][0]
    if "x-www-form-urlencoded" in (environ.get("CONTENT_TYPE") or ""):
        try:
            size = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            size = 0
        body = environ["wsgi.input"].read(size) if size > 0 else b""
        environ["wsgi.input"] = io.BytesIO(body)
        form = parse_qs(body.decode("utf-8", "replace"))
        if "Action" in form:
            return form["Action"][0]
    return environ.get("REQUEST_METHOD", "GET")


def _changes_state(environ):
    if (environ.get("PATH_INFO") or "").startswith("/moto-api/"):
        return False
    action = _action(environ)
    return action not in ("GET", "HEAD") and not action.startswith(_READ_PREFIXES)


def _load_private_key(pem):
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    return load_pem_private_key(pem, password=None)


def _load_public_key(pem):
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    return load_pem_public_key(pem)


def _key_reduction(obj):
    """cryptography's keys (KMS, Cognito signing keys) do not pickle: they are saved as PEM."""
    if not type(obj).__module__.startswith("cryptography."):
        return None
    from cryptography.hazmat.primitives import serialization as s

    if hasattr(obj, "private_bytes"):
        pem = obj.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption())
        return (_load_private_key, (pem,))
    if hasattr(obj, "public_bytes"):
        pem = obj.public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo)
        return (_load_public_key, (pem,))
    return None


class _Pickler(pickle.Pickler):
    """Locks are saved as new, free locks; keys as PEM; a BackendDict by its service name (restored
    in place, so references to it from other services' models stay on the live one)."""

    def reducer_override(self, obj):
        if isinstance(obj, _LOCK_TYPES):
            return (threading.RLock if "RLock" in type(obj).__name__ else threading.Lock, ())
        return _key_reduction(obj) or NotImplemented

    def persistent_id(self, obj):
        if isinstance(obj, BackendDict):
            return obj.service_name
        return None


class _Unpickler(pickle.Unpickler):
    def persistent_load(self, pid):
        return get_backend(pid)


class _Snapshots:
    def __init__(self, path, every_seconds):
        self.path = path
        self.every = every_seconds
        self.gate = _Gate()
        self.dirty = False
        self.stopping = False

    def dump(self):
        """Writes every backend in use; the caller holds the gate."""
        started = time.monotonic()
        state = {}
        for backend_dict in list(BackendDict._instances):
            if len(backend_dict):
                state[backend_dict.service_name] = dict(backend_dict)
        buffer = io.BytesIO()
        pickler = _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
        pickler.dump({"version": 1, "moto": moto.__version__, "backends": state})
        tmp = f"{self.path}.tmp"
        with open(tmp, "wb") as f:
            f.write(buffer.getvalue())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        self.dirty = False
        return len(buffer.getvalue()), time.monotonic() - started

    def load(self):
        if not os.path.exists(self.path):
            return None
        started = time.monotonic()
        with open(self.path, "rb") as f:
            saved = _Unpickler(f).load()
        for service, accounts in saved["backends"].items():
            live = get_backend(service)
            live.clear()
            live.update(accounts)
            if live not in BackendDict._instances:
                BackendDict._instances.append(live)
        return len(saved["backends"]), time.monotonic() - started

    def snapshot_now(self, drain_seconds=10.0, force=False):
        """Saves between requests; if requests do not drain in time, skips (or, with `force`, at
        stop, saves anyway: a save that trips over a running request fails, the last one stays)."""
        if not self.gate.close(drain_seconds):
            if not force:
                raise TimeoutError(f"requests still running after {drain_seconds} s; the next save tries again")
            return self.dump()
        try:
            return self.dump()
        finally:
            self.gate.open()

    def loop(self):
        took = 0.0
        while not self.stopping:
            # A large state takes longer to save: wait 10x as long as the last save took, so saving
            # never holds requests back more than a tenth of the time.
            time.sleep(max(self.every, 10 * took))
            if self.dirty and not self.stopping:
                try:
                    took = self.snapshot_now()[1]
                except Exception as e:  # noqa: BLE001 - reported, the next change tries again
                    print(f"tcp-moto: snapshot failed: {e!r}", file=sys.stderr, flush=True)

    def wrap(self, app_class):
        snapshots = self
        call = app_class.__call__

        def gated(self, environ, start_response):
            changes = _changes_state(environ)
            snapshots.gate.enter()
            try:
                return call(self, environ, start_response)
            finally:
                if changes:
                    snapshots.dirty = True
                snapshots.gate.leave()

        app_class.__call__ = gated

    def on_signal(self, signum, frame):
        self.stopping = True
        try:
            size, seconds = self.snapshot_now(drain_seconds=20.0, force=True)
            print(f"tcp-moto: state saved to {self.path} ({size} bytes in {seconds:.2f} s)", file=sys.stderr, flush=True)
        except Exception as e:  # noqa: BLE001 - the previous snapshot stays in place
            print(f"tcp-moto: state NOT saved at stop: {e!r}", file=sys.stderr, flush=True)
        sys.exit(0)


def _persist(path):
    every = float(os.environ.get("TCP_MOTO_SNAPSHOT_SECONDS") or "1")
    snapshots = _Snapshots(path, every)
    loaded = snapshots.load()
    if loaded is not None:
        print(f"tcp-moto: state restored from {path} ({loaded[0]} services in {loaded[1]:.2f} s)", file=sys.stderr, flush=True)
    snapshots.wrap(moto_server_module.DomainDispatcherApplication)
    moto_server_module.signal_handler = snapshots.on_signal
    threading.Thread(target=snapshots.loop, name="tcp-moto-snapshots", daemon=True).start()


if __name__ == "__main__":
    if os.environ.get("TCP_MOTO_STATE_FILE"):
        import moto
        import moto.server as moto_server_module
        from moto.backends import get_backend
        from moto.core.base_backend import BackendDict

        try:
            _persist(os.environ["TCP_MOTO_STATE_FILE"])
        except Exception as e:  # noqa: BLE001
            # Exit 4: the caller reports that the saved state could not be loaded (nothing is overwritten).
            print(f"tcp-moto: cannot restore state from {os.environ['TCP_MOTO_STATE_FILE']}: {e!r}", file=sys.stderr, flush=True)
            sys.exit(4)
    main(sys.argv[1:])
