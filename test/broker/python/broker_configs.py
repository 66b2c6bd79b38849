"""AdminClient describe_configs / alter_configs on the BROKER resource. Usage: broker_configs.py BOOTSTRAP BROKER_ID.
Prints one JSON object."""
import json
import sys

from confluent_kafka.admin import AdminClient, ConfigResource

bootstrap, broker_id = sys.argv[1], sys.argv[2]
admin = AdminClient({"bootstrap.servers": bootstrap})
result = {}


def error_of(fut):
    try:
        fut.result(timeout=20)
        return "ok"
    except Exception as e:  # noqa: BLE001
        err = e.args[0] if e.args else None
        if hasattr(err, "name"):
            return f"{err.name()}: {err.str()}"
        return str(e)


res = ConfigResource("broker", broker_id)
entries = admin.describe_configs([res])[res].result(timeout=20)
result["configs"] = {
    name: {"value": e.value, "read_only": e.is_read_only, "default": e.is_default, "sensitive": e.is_sensitive,
           "source": int(e.source), "synonyms": [[s.name, s.value, int(s.source)] for s in e.synonyms.values()]}
    for name, e in entries.items()
}

# A read-only config and an unknown one are refused, with the broker's reason.
ro = ConfigResource("broker", broker_id, set_config={"num.partitions": "9"})
result["alter_read_only"] = error_of(admin.alter_configs([ro])[ro])
unknown = ConfigResource("broker", broker_id, set_config={"no.such.config": "1"})
result["alter_unknown"] = error_of(admin.alter_configs([unknown])[unknown])

print(json.dumps(result))
