"""Idempotent producer, then read everything back by assignment. Usage: idempotent.py BOOTSTRAP TOPIC N."""
import json
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition

from delivery import Deliveries

bootstrap, topic, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
d = Deliveries()

p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
for i in range(n):
    while True:
        try:
            p.produce(topic, key=f"k{i % 97}".encode(), value=f"{i}".encode(), on_delivery=d.on_delivery)
            break
        except BufferError:
            p.poll(0.05)
    p.poll(0)
remaining = p.flush(60)

c = Consumer({"bootstrap.servers": bootstrap, "group.id": "py-idem-reader", "enable.auto.commit": False,
              "fetch.wait.max.ms": 100, "enable.partition.eof": True})
md = c.list_topics(topic, timeout=20)
parts = sorted(md.topics[topic].partitions)
c.assign([TopicPartition(topic, pid, 0) for pid in parts])
values = []
eof = set()
deadline = time.time() + 30
# consume() waits for num_messages or the timeout, so poll in short slices until every partition hit its end.
while len(eof) < len(parts) and time.time() < deadline:
    batch = c.consume(num_messages=1000, timeout=0.2)
    for m in batch:
        if m.error():
            if m.error().code() == -191:  # _PARTITION_EOF
                eof.add(m.partition())
            else:
                d.errors.append(str(m.error()))
            continue
        values.append(int(m.value()))
c.close()
print(json.dumps({"acked": d.acked, "unflushed": remaining, "errors": d.errors[:10], "received": len(values),
                  "unique": len(set(values)), "partitions": len(parts)}))
