"""Byte-exact round trips of random binary payloads per codec. Usage: compression.py BOOTSTRAP PREFIX N.
Each codec gets its own 1-partition topic PREFIX-<codec>. Prints JSON {codec: {...}}."""
import hashlib
import json
import random
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition

bootstrap, prefix, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = random.Random(1234)


def payload():
    # Random binary but compressible (librdkafka sends a batch uncompressed if compression does not shrink it):
    # a random block repeated with random single-byte mutations, sometimes fully random, sometimes empty.
    kind = rng.random()
    if kind < 0.05:
        return b""
    if kind < 0.15:
        return rng.randbytes(rng.randint(1, 3000))
    block = rng.randbytes(rng.randint(1, 64))
    data = bytearray(block * rng.randint(1, 60))
    for _ in range(rng.randint(0, 8)):
        if data:
            data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)


out = {}
for codec in ["gzip", "snappy", "lz4", "zstd"]:
    topic = f"{prefix}-{codec}"
    sent = [payload() for _ in range(n)]
    keys = [rng.randbytes(rng.randint(1, 16)) if i % 5 else None for i in range(n)]
    errs = []
    p = Producer({"bootstrap.servers": bootstrap, "compression.type": codec, "linger.ms": 20,
                  "batch.num.messages": 1000, "enable.idempotence": True})
    for k, v in zip(keys, sent):
        p.produce(topic, key=k, value=v, partition=0,
                  on_delivery=lambda err, msg: errs.append(str(err)) if err else None)
        p.poll(0)
    left = p.flush(60)
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"py-compress-{codec}", "enable.auto.commit": False,
                  "fetch.wait.max.ms": 100, "enable.partition.eof": True, "check.crcs": True})
    c.assign([TopicPartition(topic, 0, 0)])
    got_k, got_v = [], []
    done = False
    deadline = time.time() + 30
    # consume() waits for num_messages or the timeout, so poll in short slices until end-of-partition.
    while not done and time.time() < deadline:
        batch = c.consume(num_messages=1000, timeout=0.2)
        for m in batch:
            if m.error():
                if m.error().code() == -191:
                    done = True
                else:
                    errs.append(str(m.error()))
                continue
            got_k.append(m.key())
            got_v.append(m.value() or b"")
    c.close()
    h = lambda items: hashlib.sha256(b"".join(hashlib.sha256(x or b"").digest() + (b"1" if x is not None else b"0") for x in items)).hexdigest()
    out[codec] = {"sent": len(sent), "received": len(got_v), "unflushed": left, "errors": errs[:5],
                  "values_sha": h(sent), "received_values_sha": h(got_v),
                  "keys_sha": h(keys), "received_keys_sha": h(got_k),
                  "bytes": sum(len(x) for x in sent)}
print(json.dumps(out))
