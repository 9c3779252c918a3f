"""moto_server, with DynamoDB's item operations serialized.

moto's server answers requests on several threads and its DynamoDB backend does not lock: two
conditional writes to one item can both pass their condition (the lease contract test saw 2 of 8
simultaneous acquirers win; the claim-mode e2e runs saw one event published twice under load).
DynamoDB itself applies conditional writes to an item one at a time, so the emulator is made to
do the same: every item read and write of the DynamoDB backend runs under one lock. Everything
else (SQS long polls included) stays concurrent. Started by test/support/moto.ts.
"""
import functools
import threading

from moto.dynamodb.models import DynamoDBBackend

_LOCK = threading.RLock()

for _name in ("put_item", "get_item", "update_item", "delete_item", "query", "scan", "transact_write_items"):
    _original = getattr(DynamoDBBackend, _name)

    @functools.wraps(_original)
    def _serialized(self, *args, __original=_original, **kwargs):
        with _LOCK:
            return __original(self, *args, **kwargs)

    setattr(DynamoDBBackend, _name, _serialized)

if __name__ == "__main__":
    from moto.server import main

    main()
