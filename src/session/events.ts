import type { SessionEvent } from './api.ts';

/** The session's application events, first in first out; the array is reused once drained. */
export class EventQueue {
  private readonly events: SessionEvent[] = [];
  private head = 0;

  push(ev: SessionEvent): void {
    this.events.push(ev);
  }

  /** The oldest event not yet taken, or null. */
  poll(): SessionEvent | null {
    if (this.head === this.events.length) {
      if (this.head > 0) {
        this.events.length = 0;
        this.head = 0;
      }
      return null;
    }
    const ev = this.events[this.head];
    this.events[this.head++] = undefined as unknown as SessionEvent;
    return ev;
  }
}
