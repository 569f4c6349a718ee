/** A TCP or UDP endpoint as the user wrote it: a hostname, an IPv4 address or a bare IPv6 address. */
export interface HostPort {
  host: string;
  port: number;
}

/** Formats an endpoint the way `bering` accepts it back: `host:port`, or `[v6]:port` for IPv6. */
export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
