import type { Simulation } from './simulation.js';

/** Life-cycle state of a simulated process. */
export type ProcessState = 'starting' | 'running' | 'paused' | 'crashed';

/**
 * The door between virtual time and one simulated process. Every callback into the process
 * (timer, message delivery, disk completion) passes through it: callbacks of an earlier
 * incarnation (before a crash) are dropped, callbacks while paused are held and run as a burst on
 * resume, exactly as a SIGSTOPped process sees its timers and sockets all at once on SIGCONT.
 */
export class ProcessGate {
  private current = 0;
  private status: ProcessState = 'starting';
  private held: (() => void)[] = [];
  // The state to return to on resume: a process paused while starting is still starting after.
  private resumeTo: 'starting' | 'running' = 'running';

  /** A gate for a process that has not started yet (state `starting`, incarnation 0). */
  constructor(
    private readonly simulation: Simulation,
    /** The process name, used in trace labels. */
    readonly name: string,
  ) {}

  /** Increases with every crash; callbacks bound to an older incarnation never run. */
  get incarnation(): number {
    return this.current;
  }

  /** The process state. */
  get state(): ProcessState {
    return this.status;
  }

  /** True unless crashed: the process exists (it may be starting or paused). */
  get alive(): boolean {
    return this.status !== 'crashed';
  }

  /** Wraps `callback` so it runs only in the current incarnation, and later if paused. */
  guard(callback: () => void): () => void {
    const incarnation = this.current;
    return () => this.enter(incarnation, callback);
  }

  /** Whether callbacks bound to `incarnation` may still run. */
  isCurrent(incarnation: number): boolean {
    return incarnation === this.current && this.status !== 'crashed';
  }

  /** Marks the process started (after its factory resolved). */
  markRunning(): void {
    if (this.status === 'starting') this.status = 'running';
    else if (this.status === 'paused') this.resumeTo = 'running';
  }

  /** Marks a crashed process as starting again. */
  markStarting(): void {
    if (this.status === 'crashed') this.status = 'starting';
  }

  /** Freezes the process: held callbacks wait for {@link resume}. */
  pause(): void {
    if (this.status !== 'running' && this.status !== 'starting') return;
    this.resumeTo = this.status;
    this.status = 'paused';
  }

  /** Unfreezes the process and replays every held callback now, in order, one event each. */
  resume(): void {
    if (this.status !== 'paused') return;
    this.status = this.resumeTo;
    const burst = this.held;
    this.held = [];
    for (const callback of burst) this.simulation.schedule(0, `resume ${this.name}`, callback);
  }

  /** Kills the process: the incarnation ends and every held or pending callback is dropped. */
  crash(): void {
    this.current++;
    this.status = 'crashed';
    this.held = [];
  }

  private enter(incarnation: number, callback: () => void): void {
    if (incarnation !== this.current || this.status === 'crashed') return;
    if (this.status === 'paused') {
      this.held.push(() => this.enter(incarnation, callback));
      return;
    }
    callback();
  }
}
