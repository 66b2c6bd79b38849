"""Delivery reports and client errors of a confluent-kafka producer, counted for a script's JSON output."""


class Deliveries:
    def __init__(self):
        self.acked = 0
        self.errors = []
        self.partitions = set()

    def on_delivery(self, err, msg):
        """on_delivery: one call per produced message."""
        if err is not None:
            self.errors.append(str(err))
        else:
            self.acked += 1
            self.partitions.add(msg.partition())

    def on_error(self, err):
        """error_cb: errors outside any one message (connections, authentication)."""
        self.errors.append(str(err))
