/**
 * The largest sample of the last `length` rounds (a round is whatever the caller counts: BBR's
 * filter slots). One slot per round keeps that round's largest sample; a round's first sample
 * replaces what the slot held `length` rounds ago. O(length) per update, no allocation.
 */
export class WindowedMax {
  /** The current maximum (0 with no sample in the window). */
  value = 0;
  private readonly samples: Float64Array;
  private readonly rounds: Int32Array;

  constructor(private readonly length: number) {
    this.samples = new Float64Array(length);
    this.rounds = new Int32Array(length).fill(-1);
  }

  /** Folds in `sample` taken in `round` (rounds never go back); returns the new maximum. */
  update(round: number, sample: number): number {
    const slot = round % this.length;
    if (this.rounds[slot] !== round) {
      this.rounds[slot] = round;
      this.samples[slot] = sample;
    } else if (sample > this.samples[slot]) {
      this.samples[slot] = sample;
    }
    let max = 0;
    for (let i = 0; i < this.length; i++) {
      if (this.rounds[i] > round - this.length && this.samples[i] > max) max = this.samples[i];
    }
    this.value = max;
    return max;
  }

  /** Lowers every remembered sample to at most `ceiling` (and the maximum with them). */
  clamp(ceiling: number): void {
    for (let i = 0; i < this.length; i++) this.samples[i] = Math.min(this.samples[i], ceiling);
    this.value = Math.min(this.value, ceiling);
  }

  /** Forgets every sample. */
  reset(): void {
    this.samples.fill(0);
    this.rounds.fill(-1);
    this.value = 0;
  }
}
