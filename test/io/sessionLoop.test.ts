/** The timer loop on a fake clock: coalesced flushes, one timer, events that cause more output. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SessionEvent, Transmit } from '../../src/session/api.ts';
import type { CoreSession } from '../../src/io/core.ts';
import { SessionLoop, type SessionSink } from '../../src/io/sessionLoop.ts';

/** A session that sends what it is told to and wants a timeout at `due`. */
class Scripted implements Partial<CoreSession> {
  outbox: Transmit[] = [];
  events: SessionEvent[] = [];
  due: number | null = null;
  timeouts: number[] = [];
  polls = 0;
  pollTransmit(): Transmit | null {
    this.polls++;
    return this.outbox.shift() ?? null;
  }
  pollEvent(): SessionEvent | null {
    return this.events.shift() ?? null;
  }
  nextTimeout(): number | null {
    return this.due;
  }
  handleTimeout(now: number): void {
    this.timeouts.push(now);
    this.due = null;
    this.outbox.push({ pathId: 0, bytes: new Uint8Array([9]) });
  }
}

let now = 0;
beforeEach(() => {
  vi.useFakeTimers();
  now = 0;
});
afterEach(() => {
  vi.useRealTimers();
});

function setup(onEvent: SessionSink['event'] = () => {}) {
  const loop = new SessionLoop(() => now);
  const s = new Scripted();
  const sent: number[] = [];
  loop.add(s as unknown as CoreSession, { transmit: (t) => sent.push(t.bytes[0]), event: onEvent });
  return { loop, s, sent };
}

describe('SessionLoop', () => {
  it('coalesces many wakes into one flush per turn', () => {
    const { loop, s, sent } = setup();
    vi.runAllTicks();
    vi.advanceTimersToNextTimer();
    const polls = s.polls;
    s.outbox.push({ pathId: 0, bytes: new Uint8Array([1]) }, { pathId: 0, bytes: new Uint8Array([2]) });
    for (let i = 0; i < 100; i++) loop.wake();
    expect(sent).toEqual([]);
    vi.advanceTimersToNextTimer();
    expect(sent).toEqual([1, 2]);
    // One pass: two transmits and the null that ends the drain.
    expect(s.polls - polls).toBe(3);
  });

  it('arms one timer at nextTimeout and calls handleTimeout once it is due', () => {
    const { loop, s, sent } = setup();
    s.due = 25.5;
    loop.flush();
    now = 10;
    vi.advanceTimersByTime(10);
    expect(s.timeouts).toEqual([]);
    now = 26;
    vi.advanceTimersByTime(16);
    expect(s.timeouts).toEqual([26]);
    expect(sent).toEqual([9]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('re-arms earlier when a session wants to wake sooner', () => {
    const { loop, s } = setup();
    s.due = 1000;
    loop.flush();
    s.due = 5;
    loop.flush();
    now = 5;
    vi.advanceTimersByTime(5);
    expect(s.timeouts).toEqual([5]);
  });

  it('sends what an event handler caused in the same flush', () => {
    let session: Scripted | null = null;
    const { loop, s, sent } = setup((_, e) => {
      if (e.type === 'streamReadable') session!.outbox.push({ pathId: 0, bytes: new Uint8Array([7]) });
    });
    session = s;
    s.events.push({ type: 'streamReadable', streamId: 0 });
    loop.flush();
    expect(sent).toEqual([7]);
  });

  it('stops driving a removed session', () => {
    const { loop, s, sent } = setup();
    loop.remove(s as unknown as CoreSession);
    s.outbox.push({ pathId: 0, bytes: new Uint8Array([1]) });
    loop.flush();
    expect(sent).toEqual([]);
    expect(loop.size).toBe(0);
  });
});
