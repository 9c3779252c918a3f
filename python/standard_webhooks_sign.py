"""Signs and verifies Standard Webhooks deliveries with implementations the relay did not write.

The tests (test/unit/standard-webhooks-python.test.ts, test/integration/local-relay-config.test.ts)
run this with the test venv's python: the Python `standardwebhooks` library (the spec's own) and
`svix` (Svix's, which sends `svix-*` headers) sign the bytes given, and verify what they are given,
so the relay is checked against their reading of the spec, bodies that are not UTF-8 included.

stdin: a JSON list of operations; stdout: a JSON list of results, one per operation.
- {"op": "sign", "lib": "standardwebhooks" | "svix", "secret": "whsec_...", "id": "...",
   "timestamp": <unix seconds>, "body_b64": "...", "decoys": <n, default 0>}
  -> {"headers": {...}, "library_verifies": true|false}
  The signature header holds `decoys` v1 entries signed with other, random secrets, then the real one
  (the right signature as entry n + 1). `library_verifies`: the same library's verify() of the
  delivery, headers and raw bytes as sent (the library's own timestamp tolerance applies).
- {"op": "verify", "lib": ..., "secret": ..., "headers": {...}, "body_b64": "..."}
  -> {"ok": true|false, "error": "..."}
"""

import base64
import json
import os
import sys
from datetime import datetime, timezone

import standardwebhooks


def webhook(lib: str, secret: str):
    if lib == "standardwebhooks":
        return standardwebhooks.Webhook(secret)
    if lib == "svix":
        import svix  # imported only when asked for: it loads pydantic and httpx (seconds on a busy machine)

        return svix.Webhook(secret)
    raise ValueError(f"unknown lib {lib!r}")


def verify(lib: str, secret: str, headers: dict, body: bytes) -> dict:
    try:
        if lib == "svix":
            webhook(lib, secret).verify(body, headers)
        else:  # the signature only: the body need not be JSON (nor UTF-8)
            webhook(lib, secret).verify(body, headers, json_parse=False)
        return {"ok": True}
    except Exception as err:  # the library's WebhookVerificationError
        return {"ok": False, "error": f"{type(err).__name__}: {err}"}


def sign(op: dict) -> dict:
    body = base64.b64decode(op["body_b64"])
    when = datetime.fromtimestamp(op["timestamp"], tz=timezone.utc)
    real = webhook(op["lib"], op["secret"]).sign(op["id"], when, body)
    decoys = [
        webhook(op["lib"], "whsec_" + base64.b64encode(os.urandom(24)).decode()).sign(op["id"], when, body)
        for _ in range(op.get("decoys", 0))
    ]
    prefix = "svix-" if op["lib"] == "svix" else "webhook-"
    headers = {
        prefix + "id": op["id"],
        prefix + "timestamp": str(op["timestamp"]),
        prefix + "signature": " ".join([*decoys, real]),
    }
    return {"headers": headers, "library_verifies": verify(op["lib"], op["secret"], headers, body)["ok"]}


def main() -> None:
    results = []
    for op in json.load(sys.stdin):
        if op["op"] == "sign":
            results.append(sign(op))
        elif op["op"] == "verify":
            results.append(verify(op["lib"], op["secret"], op["headers"], base64.b64decode(op["body_b64"])))
        else:
            raise ValueError(f"unknown op {op['op']!r}")
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
