/** Parsing a Kafka bootstrap list, apart from infra/kafka.ts so that system processes need not load the broker to read one. */
/** "host:port,host:port" -> ['host:port', ...]; IPv6 hosts in brackets ([::1]:9092). Throws on a bad entry. */
export function parseBrokerList(s: string): string[] {
  const entries = s.split(',').map((e) => e.trim());
  if (entries.every((e) => e === '')) throw new Error('broker list is empty (expected host:port[,host:port...])');
  return entries.map((entry, i) => {
    const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?):(\d{1,5})$/.exec(entry);
    if (!m) throw new Error(`broker list entry ${i + 1} "${entry}" is not host:port (e.g. 127.0.0.1:9092, kafka-1.example.com:9092, [::1]:9092)`);
    const port = Number(m[3]);
    if (port < 1 || port > 65535) throw new Error(`broker list entry ${i + 1} "${entry}": port ${port} is outside 1..65535`);
    return entry;
  });
}
