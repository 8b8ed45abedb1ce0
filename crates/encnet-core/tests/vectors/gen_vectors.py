#!/usr/bin/env python3
"""Generates suite_v1.json and suite_v2.json with Python's `cryptography`
package, an implementation independent of encnet (OpenSSL underneath).

Run from this directory: python3 gen_vectors.py
Every input is fixed, so the output is reproducible byte for byte.
"""
import hashlib
import json

import cryptography
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

SOURCE = f"gen_vectors.py, Python cryptography {cryptography.__version__}"
OWNER = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
NETWORK_ID = f"urn:tinycloud:encryption:{OWNER}:notes"
# Low-order u-coordinates: 0, 1 and a point of order 8.
LOW_ORDER = [
    bytes(32),
    bytes([1]) + bytes(31),
    bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
]


def det(label, n=32):
    """Deterministic test bytes: SHA-256 chain of a label."""
    out = b""
    block = label.encode()
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block
    return out[:n]


def pub(secret):
    key = X25519PrivateKey.from_private_bytes(secret)
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def dh(secret, public):
    return X25519PrivateKey.from_private_bytes(secret).exchange(X25519PublicKey.from_public_bytes(public))


def v2_info(network_id, key_version, cid):
    info = b"encnet/wrap/v2" + b"\x00" + network_id.encode() + b"\x00" + key_version.to_bytes(8, "big")
    if cid is not None:
        info += b"\x00" + cid
    return info


def v2_key(shared, e_pub, n_pub, info):
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=e_pub + n_pub, info=info).derive(shared)


def flip(data, index, bit=0):
    b = bytearray(data)
    b[index] ^= 1 << bit
    return bytes(b)


def wrap_case(suite, i, comment, key_version=1, cid=None):
    s, e, data_key, nonce = det(f"network{i}"), det(f"ephemeral{i}"), det(f"datakey{i}"), det(f"nonce{i}", 12)
    n_pub, e_pub = pub(s), pub(e)
    shared = dh(e, n_pub)
    case = {
        "comment": comment,
        "network_secret": s.hex(),
        "network_public": n_pub.hex(),
        "ephemeral_secret": e.hex(),
        "ephemeral_public": e_pub.hex(),
        "network_id": NETWORK_ID,
        "key_version": key_version,
        "dh": shared.hex(),
        "data_key": data_key.hex(),
    }
    if suite == 1:
        case["nonce"] = nonce.hex()
        case["wrap_key"] = shared.hex()
        wrapped = e_pub + b"\x01" + nonce + AESGCM(shared).encrypt(nonce, data_key, None)
    else:
        info = v2_info(NETWORK_ID, key_version, cid)
        k = v2_key(shared, e_pub, n_pub, info)
        case["invocation_cid"] = None if cid is None else cid.hex()
        case["info"] = info.hex()
        case["wrap_key"] = k.hex()
        wrapped = e_pub + AESGCM(k).encrypt(bytes(12), data_key, None)
    case["wrapped"] = wrapped.hex()
    case["expect"] = "ok"
    return case


def negative(base, comment, wrapped, expect, **overrides):
    case = {k: base[k] for k in ("network_secret", "network_id", "key_version") if k in base}
    case.update({"comment": comment, "wrapped": wrapped.hex(), "expect": expect})
    if "invocation_cid" in base:
        case["invocation_cid"] = base["invocation_cid"]
    case.update(overrides)
    return case


def payload_case(suite, i, comment, plaintext, aad):
    data_key, nonce = det(f"payloadkey{i}"), det(f"payloadnonce{i}", 12)
    bound = aad if suite == 2 else None  # v1 carries the aad but does not bind it
    ct = AESGCM(data_key).encrypt(nonce, plaintext, bound or None)
    return {
        "comment": comment,
        "data_key": data_key.hex(),
        "nonce": nonce.hex(),
        "plaintext": plaintext.hex(),
        "aad": aad.hex(),
        "payload": (nonce + ct).hex(),
        "expect": "ok",
    }


def suite_file(suite):
    cid = bytes.fromhex("01711220") + det("invocation")
    wraps = [
        wrap_case(suite, 0, "basic wrap"),
        wrap_case(suite, 1, "key version 7", key_version=7),
    ]
    if suite == 2:
        wraps.append(wrap_case(suite, 2, "re-wrap to a receiver, invocation CID bound", cid=cid))
    base = wraps[0]
    wrapped = bytes.fromhex(base["wrapped"])
    for j, point in enumerate(LOW_ORDER):
        wraps.append(negative(base, f"low-order ephemeral key #{j}", point + wrapped[32:], "LowOrderPoint"))
    wraps.append(negative(base, "last tag bit flipped", flip(wrapped, len(wrapped) - 1, 7), "UnwrapFailed"))
    wraps.append(negative(base, "ciphertext bit flipped", flip(wrapped, len(wrapped) - 20), "UnwrapFailed"))
    wraps.append(negative(base, "truncated by one byte", wrapped[:-1], "BadLength"))
    wraps.append(negative(base, "bit 255 of E set (X25519 ignores it; encnet requires canonical E)",
                          flip(wrapped, 31, 7), "NonCanonicalPoint"))
    wraps.append(negative(base, "wrong network secret", wrapped, "UnwrapFailed", network_secret=det("other").hex()))
    if suite == 1:
        wraps.append(negative(base, "marker byte 0x02", wrapped[:32] + b"\x02" + wrapped[33:], "BadMarker"))
    else:
        wraps.append(negative(base, "wrong key version in the context", wrapped, "UnwrapFailed", key_version=2))
        wraps.append(negative(base, "other network id in the context", wrapped, "UnwrapFailed",
                              network_id=NETWORK_ID + "2"))
    payloads = [
        payload_case(suite, 0, "empty plaintext, no aad", b"", b""),
        payload_case(suite, 1, "short plaintext with aad", b"hello, encnet", b"record-42"),
        payload_case(suite, 2, "two and a half blocks", det("pt", 40), b""),
        payload_case(suite, 3, "1000 bytes with aad", det("long", 1000), b"aad"),
    ]
    p = payloads[1]
    bad = dict(p, comment="tag bit flipped", payload=flip(bytes.fromhex(p["payload"]), -1).hex(), expect="PayloadTampered")
    payloads.append(bad)
    if suite == 2:
        payloads.append(dict(p, comment="wrong aad", aad=b"record-43".hex(), expect="PayloadTampered"))
    else:
        payloads.append(dict(p, comment="v1 ignores the aad", aad=b"anything".hex()))
    payloads.append(dict(p, comment="shorter than nonce and tag", payload=bytes(27).hex(), expect="BadLength"))
    names = {1: "x25519-aes256gcm/v1", 2: "x25519-hkdf-sha256-aes256gcm/v2"}
    return {
        "suite": names[suite],
        "source": SOURCE,
        "comment": "Hex inputs, intermediates and outputs; expect is \"ok\" or the SuiteError variant.",
        "wrap": wraps,
        "payload": payloads,
    }


if __name__ == "__main__":
    for suite in (1, 2):
        with open(f"suite_v{suite}.json", "w") as f:
            json.dump(suite_file(suite), f, indent=2)
            f.write("\n")
