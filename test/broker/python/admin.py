"""AdminClient create/list/delete topics. Usage: admin.py BOOTSTRAP PREFIX. Prints one JSON object."""
import json
import sys
import time

from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, prefix = sys.argv[1], sys.argv[2]
admin = AdminClient({"bootstrap.servers": bootstrap})
names = [f"{prefix}-a", f"{prefix}-b"]
result = {}

futures = admin.create_topics([NewTopic(names[0], num_partitions=3, replication_factor=1),
                               NewTopic(names[1], num_partitions=1, replication_factor=1)], operation_timeout=10)
result["create"] = {}
for name, fut in futures.items():
    try:
        fut.result(timeout=20)
        result["create"][name] = "ok"
    except Exception as e:  # noqa: BLE001
        result["create"][name] = str(e)

# Creating an existing topic must fail with TOPIC_ALREADY_EXISTS.
dup = admin.create_topics([NewTopic(names[0], num_partitions=3, replication_factor=1)])[names[0]]
try:
    dup.result(timeout=20)
    result["create_again"] = "ok"
except Exception as e:  # noqa: BLE001
    result["create_again"] = e.args[0].name() if e.args and hasattr(e.args[0], "name") else str(e)

md = admin.list_topics(timeout=20)
result["listed"] = {t: len(md.topics[t].partitions) for t in names if t in md.topics}
result["brokers"] = [f"{b.host}:{b.port}" for b in md.brokers.values()]
result["controller_id"] = md.controller_id

futures = admin.delete_topics([names[1]], operation_timeout=10)
result["delete"] = {}
for name, fut in futures.items():
    try:
        fut.result(timeout=20)
        result["delete"][name] = "ok"
    except Exception as e:  # noqa: BLE001
        result["delete"][name] = str(e)

deadline = time.time() + 10
while time.time() < deadline:
    md = admin.list_topics(timeout=20)
    if names[1] not in md.topics:
        break
    time.sleep(0.2)
result["after_delete"] = sorted(t for t in md.topics if t.startswith(prefix))
print(json.dumps(result))
