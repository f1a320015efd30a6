// The server's event table (GET /v1/events): warns in the console about an event the
// server sends that the table lacks, or one the page handles that the server never sends.
class EventTable {
  constructor() {
    this.names = null;  // null until the table has loaded
    this.seen = new Set();
    this.warned = new Set();
  }

  async load(url, handled) {
    try {
      const resp = await fetch(url);
      if (!resp.ok) return;  // a token is missing or wrong: the WebSocket says so
      this.names = new Set(Object.keys((await resp.json()).events));
    } catch {
      return;  // the server is down: the status says so, and the next connect tries again
    }
    for (const name of handled) {
      if (!this.names.has(name)) {
        console.warn(`livemind: the page handles event "${name}", which the server does not list`);
      }
    }
    for (const name of this.seen) this.check(name);
  }

  check(name) {
    this.seen.add(name);
    if (!this.names || this.names.has(name) || this.warned.has(name)) return;
    this.warned.add(name);
    console.warn(`livemind: unknown event "${name}" (not in the server's event table)`);
  }
}
