#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/seeds/<target>/ from the UCAN fixtures
(../shared/fixtures/ucan) and the suite test vectors. Re-run it after either
changes; the output is committed so CI needs neither Python nor the fixtures.

    python3 fuzz/seeds.py [path/to/fixtures/ucan]
"""

import base64
import gzip
import hashlib
import json
import re
import struct
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURES = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parent.parent / "shared/fixtures/ucan"
VECTORS = HERE.parent / "crates/encnet-core/tests/vectors"
OUT = HERE / "seeds"


def b64(text):
    return base64.b64decode(text + "=" * (-len(text) % 4))


def cbor_head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    for size, code in ((1, 24), (2, 25), (4, 26), (8, 27)):
        if n < 1 << (8 * size):
            return bytes([major << 5 | code]) + n.to_bytes(size, "big")
    raise ValueError(n)


def cbor(value):
    """Canonical DAG-CBOR of JSON-like values (map keys length-first)."""
    if value is None:
        return b"\xf6"
    if value is True:
        return b"\xf5"
    if value is False:
        return b"\xf4"
    if isinstance(value, int):
        return cbor_head(0, value) if value >= 0 else cbor_head(1, -1 - value)
    if isinstance(value, float):
        return b"\xfb" + struct.pack(">d", value)
    if isinstance(value, bytes):
        return cbor_head(2, len(value)) + value
    if isinstance(value, str):
        raw = value.encode()
        return cbor_head(3, len(raw)) + raw
    if isinstance(value, list):
        return cbor_head(4, len(value)) + b"".join(cbor(v) for v in value)
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (len(k.encode()), k.encode()))
        return cbor_head(5, len(keys)) + b"".join(cbor(k) + cbor(value[k]) for k in keys)
    raise TypeError(type(value))


def container_forms(tokens):
    raw = cbor({"ctn-v1": sorted(set(tokens))})
    zipped = gzip.compress(raw, mtime=0)
    return {
        "raw": b"@" + raw,
        "b64": b"B" + base64.b64encode(raw),
        "b64url": b"C" + base64.urlsafe_b64encode(raw).rstrip(b"="),
        "raw-gz": b"M" + zipped,
        "b64-gz": b"O" + base64.b64encode(zipped),
        "b64url-gz": b"P" + base64.urlsafe_b64encode(zipped).rstrip(b"="),
    }


def write(target, name, data):
    path = OUT / target / re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def main():
    delegations = json.loads((FIXTURES / "delegation.rc1.json").read_text())
    invocations = json.loads((FIXTURES / "invocation.rc1.json").read_text())
    policies = json.loads((FIXTURES / "policy.json").read_text())

    dids = set()
    for case in delegations["valid"]:
        token = b64(case["token"])
        write("token", "dlg " + case["name"], token)
        payload = case["envelope"]["payload"]
        dids.update(payload[k] for k in ("iss", "aud", "sub") if payload.get(k))
    for kind in ("valid", "invalid"):
        for case in invocations[kind]:
            invocation = b64(case["invocation"]["/"]["bytes"])
            proofs = [b64(p["/"]["bytes"]) for p in case["proofs"]]
            write("token", f"inv {kind} {case['name']}", invocation)
            for form, data in container_forms([invocation] + proofs).items():
                write("container", f"{kind} {case['name']} {form}", data)
            header = re.search(rb"\x61h\x48(.{8})", invocation, re.S)
            if header:
                write("did_key", "varsig " + header.group(1).hex(), header.group(1))

    for i, did in enumerate(sorted(dids)):
        write("did_key", f"did {i}", did.encode())
        write("network_id", f"id {i}", f"urn:tinycloud:encryption:{did}:notes".encode())
    for extra in (
        "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        "did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169",
        "did:pkh:eip155:1:0xb9c5714089478a327f09197987f16f9e5d936e8a",
        "did:web:example.com",
    ):
        write("did_key", extra, extra.encode())

    for kind in ("valid", "invalid"):
        for i, case in enumerate(policies[kind]):
            args = cbor(case["args"])
            for j, policy in enumerate(case["policies"]):
                body = cbor(policy)
                seed = b"\x01" + len(body).to_bytes(2, "big") + body + args
                write("policy", f"{kind} {i} {j}", seed)
                for k, selector in enumerate(re.findall(r'"(\.[^"]*)"', json.dumps(policy))):
                    write("policy", f"selector {kind} {i} {j} {k}", b"\x00" + selector.encode())

    for suite in ("v1", "v2"):
        vectors = json.loads((VECTORS / f"suite_{suite}.json").read_text())
        for i, (wrap, payload) in enumerate(zip(vectors["wrap"], vectors["payload"])):
            if wrap.get("expect") != "ok" or payload.get("expect") != "ok":
                continue
            wrapped = base64.b64encode(bytes.fromhex(wrap["wrapped"])).decode()
            key_hash = hashlib.sha256(json.dumps(wrapped).encode()).hexdigest()
            envelope = {
                "v": 1,
                "networkId": wrap.get("network_id")
                or "urn:tinycloud:encryption:did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK:notes",
                "alg": vectors["suite"],
                "keyVersion": wrap.get("key_version", 1),
                "encryptedSymmetricKey": wrapped,
                "encryptedSymmetricKeyHash": key_hash,
                "ciphertext": base64.b64encode(bytes.fromhex(payload["payload"])).decode(),
                "metadata": {"app": "notes"},
            }
            if payload.get("aad"):
                envelope["aad"] = base64.b64encode(bytes.fromhex(payload["aad"])).decode()
            write("inline_envelope", f"{suite} {i}", json.dumps(envelope).encode())


if __name__ == "__main__":
    main()
