/**
 * Values kept per peer address (host, then port), made on first sight and bounded: a socket hears
 * from few peers, but a peer that keeps changing ports (NAT rebinding, a hostile peer) must not
 * grow the cache forever, so past `limit` entries it starts over. Keyed by the strings themselves,
 * so a lookup allocates nothing.
 */
export class HostPortCache<V> {
  private readonly byHost = new Map<string, Map<number, V>>();
  private count = 0;

  /** `make` builds the value of an address not seen yet (bind it once: it is called per miss). */
  constructor(
    private readonly limit: number,
    private readonly make: (host: string, port: number) => V,
  ) {}

  get(host: string, port: number): V {
    let byPort = this.byHost.get(host);
    const known = byPort?.get(port);
    // One lookup on a hit; `has` only for a value that may be undefined itself.
    if (known !== undefined || byPort?.has(port) === true) return known as V;
    if (this.count >= this.limit) {
      this.byHost.clear();
      this.count = 0;
      byPort = undefined;
    }
    if (byPort === undefined) {
      byPort = new Map();
      this.byHost.set(host, byPort);
    }
    const value = this.make(host, port);
    byPort.set(port, value);
    this.count++;
    return value;
  }
}
