"""Group consumer with manual synchronous commits. Modes:
  group.py BOOTSTRAP produce TOPIC N        -> produce N values "0".."N-1"
  group.py BOOTSTRAP consume TOPIC GROUP MAX -> consume until at least MAX (or the end), commit sync, close
Prints JSON."""
import json
import sys
import time

from confluent_kafka import Consumer, Producer

bootstrap, mode, topic = sys.argv[1], sys.argv[2], sys.argv[3]

if mode == "produce":
    n = int(sys.argv[4])
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(n):
        p.produce(topic, key=f"k{i % 31}".encode(), value=str(i).encode())
        p.poll(0)
    print(json.dumps({"unflushed": p.flush(30)}))
    sys.exit(0)

group, limit = sys.argv[4], int(sys.argv[5])
c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
              "auto.offset.reset": "earliest", "fetch.wait.max.ms": 100, "session.timeout.ms": 6000,
              "heartbeat.interval.ms": 500})
c.subscribe([topic])
values, errors, commits = [], [], 0
deadline = time.time() + 60
idle_since = None
while len(values) < limit and time.time() < deadline:
    batch = c.consume(num_messages=min(500, limit - len(values)), timeout=1)
    real = [m for m in batch if not m.error()]
    errors += [str(m.error()) for m in batch if m.error()]
    if not real:
        # Stop after 3 s of silence once something has been read (the end of the topic).
        if values:
            idle_since = idle_since or time.time()
            if time.time() - idle_since > 3:
                break
        continue
    idle_since = None
    values += [int(m.value()) for m in real]
    c.commit(asynchronous=False)
    commits += 1
committed = c.committed(c.assignment(), timeout=10)
c.close()
print(json.dumps({"values": values, "commits": commits, "errors": errors[:10],
                  "committed": {f"{tp.partition}": tp.offset for tp in committed}}))
