"""Produce with acks=all and consume in a group, over SASL (PLAINTEXT or TLS), against one broker or a cluster.
Usage: sasl.py BOOTSTRAP TOPIC N CONFIG_JSON (extra client config: security.protocol, sasl.mechanism,
sasl.username, sasl.password, ssl.ca.location; it may override message.timeout.ms, e.g. to give up quickly when
refused). Prints one JSON object: how many records were acknowledged, whether every value 0..N-1 came back exactly
once (complete) and in the order produced (in_order, which only one partition guarantees), which partitions (and so
which leaders) the records went through, and whether the client reported an authentication failure."""
import json
import sys
import time

from confluent_kafka import Consumer, Producer

from delivery import Deliveries

bootstrap, topic, n, extra = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
d = Deliveries()

p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5, "message.timeout.ms": 20000,
              "error_cb": d.on_error, **extra})
for i in range(n):
    # A key per record: the default partitioner spreads them over every partition, so over every leader.
    p.produce(topic, key=f"k{i}".encode(), value=f"{i}".encode(), on_delivery=d.on_delivery)
    p.poll(0)
unflushed = p.flush(30)

values = []
consumed_partitions = set()
if d.acked == n:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"{topic}-group", "auto.offset.reset": "earliest",
                  "fetch.wait.max.ms": 100, "error_cb": d.on_error, **extra})
    c.subscribe([topic])
    deadline = time.time() + 40
    while len(values) < n and time.time() < deadline:
        for m in c.consume(num_messages=1000, timeout=0.5):
            if m.error():
                d.errors.append(str(m.error()))
            else:
                values.append(int(m.value()))
                consumed_partitions.add(m.partition())
    c.close()

print(json.dumps({"acked": d.acked, "unflushed": unflushed, "received": len(values),
                  "complete": sorted(values) == list(range(n)), "in_order": values == list(range(n)),
                  "produced_partitions": sorted(d.partitions), "consumed_partitions": sorted(consumed_partitions),
                  "auth_failed": any("Authentication failed" in e or "SASL" in e for e in d.errors),
                  "errors": d.errors[:5]}))
