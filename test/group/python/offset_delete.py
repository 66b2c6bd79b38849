"""Commits and deletes a group's offsets with librdkafka 2.0.2 (what python3-confluent-kafka 1.7.0 runs on).

  offset_delete.py <bootstrap> commit <group> <topic>:<partition>:<offset> ...
  offset_delete.py <bootstrap> delete <group> <topic>:<partition> ...

commit uses confluent_kafka's Consumer.commit (a synchronous commit with no subscription: generation -1).
delete is librdkafka's rd_kafka_DeleteConsumerGroupOffsets (OffsetDelete, API 47), the call behind
AdminClient.delete_consumer_group_offsets. confluent-kafka-python 1.7.0 does not wrap it yet, so it is
called through ctypes on the same librdkafka.so.1 the confluent_kafka module links.
Prints one JSON object: {"error": <request error name or null>, "partitions": {"topic:partition": <error name>}}.
"""
import ctypes
import json
import sys

from confluent_kafka import Consumer, TopicPartition


def commit(bootstrap, group, specs):
    c = Consumer({'bootstrap.servers': bootstrap, 'group.id': group, 'enable.auto.commit': False})
    try:
        offsets = []
        for s in specs:
            topic, partition, offset = s.rsplit(':', 2)
            offsets.append(TopicPartition(topic, int(partition), int(offset)))
        out = c.commit(offsets=offsets, asynchronous=False)
        return {'error': None, 'partitions': {f'{p.topic}:{p.partition}': (p.error.name() if p.error else 'NO_ERROR') for p in out}}
    finally:
        c.close()


class TopicPartitionT(ctypes.Structure):
    _fields_ = [
        ('topic', ctypes.c_char_p),
        ('partition', ctypes.c_int32),
        ('offset', ctypes.c_int64),
        ('metadata', ctypes.c_void_p),
        ('metadata_size', ctypes.c_size_t),
        ('opaque', ctypes.c_void_p),
        ('err', ctypes.c_int),
        ('_private', ctypes.c_void_p),
    ]


class TopicPartitionListT(ctypes.Structure):
    _fields_ = [('cnt', ctypes.c_int), ('size', ctypes.c_int), ('elems', ctypes.POINTER(TopicPartitionT))]


def librdkafka():
    lib = ctypes.CDLL('librdkafka.so.1')
    vp = ctypes.c_void_p
    sig = {
        'rd_kafka_version_str': ([], ctypes.c_char_p),
        'rd_kafka_conf_new': ([], vp),
        'rd_kafka_conf_set': ([vp, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t], ctypes.c_int),
        'rd_kafka_new': ([ctypes.c_int, vp, ctypes.c_char_p, ctypes.c_size_t], vp),
        'rd_kafka_destroy': ([vp], None),
        'rd_kafka_queue_new': ([vp], vp),
        'rd_kafka_queue_destroy': ([vp], None),
        'rd_kafka_queue_poll': ([vp, ctypes.c_int], vp),
        'rd_kafka_event_destroy': ([vp], None),
        'rd_kafka_event_error': ([vp], ctypes.c_int),
        'rd_kafka_event_error_string': ([vp], ctypes.c_char_p),
        'rd_kafka_err2name': ([ctypes.c_int], ctypes.c_char_p),
        'rd_kafka_topic_partition_list_new': ([ctypes.c_int], vp),
        'rd_kafka_topic_partition_list_add': ([vp, ctypes.c_char_p, ctypes.c_int32], vp),
        'rd_kafka_topic_partition_list_destroy': ([vp], None),
        'rd_kafka_DeleteConsumerGroupOffsets_new': ([ctypes.c_char_p, vp], vp),
        'rd_kafka_DeleteConsumerGroupOffsets_destroy': ([vp], None),
        'rd_kafka_DeleteConsumerGroupOffsets': ([vp, ctypes.POINTER(vp), ctypes.c_size_t, vp, vp], None),
        'rd_kafka_event_DeleteConsumerGroupOffsets_result': ([vp], vp),
        'rd_kafka_DeleteConsumerGroupOffsets_result_groups': ([vp, ctypes.POINTER(ctypes.c_size_t)], ctypes.POINTER(vp)),
        'rd_kafka_group_result_error': ([vp], vp),
        'rd_kafka_group_result_partitions': ([vp], ctypes.POINTER(TopicPartitionListT)),
        'rd_kafka_error_name': ([vp], ctypes.c_char_p),
    }
    for name, (args, res) in sig.items():
        f = getattr(lib, name)
        f.argtypes = args
        f.restype = res
    return lib


def delete(bootstrap, group, specs):
    lib = librdkafka()
    errstr = ctypes.create_string_buffer(512)
    conf = lib.rd_kafka_conf_new()
    for k, v in (('bootstrap.servers', bootstrap), ('client.id', 'offset-delete-test')):
        if lib.rd_kafka_conf_set(conf, k.encode(), v.encode(), errstr, len(errstr)) != 0:
            raise RuntimeError(errstr.value.decode())
    rk = lib.rd_kafka_new(0, conf, errstr, len(errstr))  # RD_KAFKA_PRODUCER, as confluent_kafka's AdminClient
    if not rk:
        raise RuntimeError(errstr.value.decode())
    queue = lib.rd_kafka_queue_new(rk)
    parts = lib.rd_kafka_topic_partition_list_new(len(specs))
    for s in specs:
        topic, partition = s.rsplit(':', 1)
        lib.rd_kafka_topic_partition_list_add(parts, topic.encode(), int(partition))
    request = lib.rd_kafka_DeleteConsumerGroupOffsets_new(group.encode(), parts)
    lib.rd_kafka_topic_partition_list_destroy(parts)
    arr = (ctypes.c_void_p * 1)(request)
    lib.rd_kafka_DeleteConsumerGroupOffsets(rk, arr, 1, None, queue)
    lib.rd_kafka_DeleteConsumerGroupOffsets_destroy(request)
    out = {'error': None, 'partitions': {}, 'librdkafka': lib.rd_kafka_version_str().decode()}
    try:
        ev = lib.rd_kafka_queue_poll(queue, 60_000)
        if not ev:
            raise RuntimeError('no DeleteConsumerGroupOffsets result within 60 s')
        err = lib.rd_kafka_event_error(ev)
        if err != 0:
            out['error'] = lib.rd_kafka_err2name(err).decode()
            out['error_string'] = (lib.rd_kafka_event_error_string(ev) or b'').decode()
        result = lib.rd_kafka_event_DeleteConsumerGroupOffsets_result(ev)
        if result:
            n = ctypes.c_size_t(0)
            groups = lib.rd_kafka_DeleteConsumerGroupOffsets_result_groups(result, ctypes.byref(n))
            for i in range(n.value):
                gerr = lib.rd_kafka_group_result_error(groups[i])
                if gerr:
                    out['error'] = lib.rd_kafka_error_name(gerr).decode()
                plist = lib.rd_kafka_group_result_partitions(groups[i])
                if plist:
                    for j in range(plist.contents.cnt):
                        p = plist.contents.elems[j]
                        out['partitions'][f'{p.topic.decode()}:{p.partition}'] = lib.rd_kafka_err2name(p.err).decode()
        lib.rd_kafka_event_destroy(ev)
    finally:
        lib.rd_kafka_queue_destroy(queue)
        lib.rd_kafka_destroy(rk)
    return out


def main():
    bootstrap, op, group, *specs = sys.argv[1:]
    out = commit(bootstrap, group, specs) if op == 'commit' else delete(bootstrap, group, specs)
    print(json.dumps(out, sort_keys=True))


if __name__ == '__main__':
    main()
