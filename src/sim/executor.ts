/**
 * Carries plans out in the simulated data centre, in simulated time: migrations run at most
 * `maxConcurrent` at a time, in plan order; a host is powered off only once the migrations
 * off it have landed. It is the simulator's own small executor for `tide simulate`; the
 * operator's executor drives the simulator through the driver interfaces instead (drivers.ts).
 */
import type { Action } from '../planner/types.ts';
import type { SimDataCentre } from './datacentre.ts';

export interface ExecutedAction {
  action: Action;
  startedAtMs: number;
  endedAtMs?: number;
  outcome: 'running' | 'succeeded' | 'failed' | 'alert';
  error?: string;
}

export class SimExecutor {
  readonly log: ExecutedAction[] = [];
  private queue: Action[] = [];
  private running = 0;
  /** Host → migrations running off it (their memory is freed only when they land). */
  private leaving = new Map<string, number>();

  constructor(
    private readonly dc: SimDataCentre,
    private readonly maxConcurrent: number,
    /** Called whenever an action starts or ends (the runner records the hosts' state then). */
    private readonly onChange: () => void = () => {},
  ) {}

  submit(actions: readonly Action[]): void {
    this.queue.push(...actions);
    this.pump();
  }

  /** Nothing queued and nothing running: the last plan is fully carried out. */
  idle(): boolean {
    return this.queue.length === 0 && this.running === 0;
  }

  private pump(): void {
    for (let i = 0; i < this.queue.length; ) {
      const action = this.queue[i];
      if (action.type === 'migrate' && (this.running >= this.maxConcurrent || this.waitsForRoom(action.to, i))) {
        i++;
        continue;
      }
      if (action.type === 'power-off' && this.waitsForMigrations(action.host, i)) {
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      this.start(action);
    }
  }

  /**
   * The plan may count on memory that VMs leaving `host` free: a migration to it waits while
   * an earlier one off it is queued or running.
   */
  private waitsForRoom(host: string, index: number): boolean {
    if ((this.leaving.get(host) ?? 0) > 0) return true;
    return this.queue.slice(0, index).some((a) => a.type === 'migrate' && a.from === host);
  }

  private waitsForMigrations(host: string, index: number): boolean {
    if ((this.dc.hosts.get(host)?.migrations ?? 0) > 0) return true;
    return this.queue.slice(0, index).some((a) => a.type === 'migrate' && (a.from === host || a.to === host));
  }

  private start(action: Action): void {
    const entry: ExecutedAction = { action, startedAtMs: this.dc.now(), outcome: action.type === 'alert' ? 'alert' : 'running' };
    this.log.push(entry);
    if (action.type === 'alert') return;
    const finish = (error?: string) => {
      entry.endedAtMs = this.dc.now();
      entry.outcome = error ? 'failed' : 'succeeded';
      if (error) entry.error = error;
      this.onChange();
    };
    try {
      if (action.type === 'migrate') {
        const settle = (delta: number) => {
          this.running += delta;
          this.leaving.set(action.from, (this.leaving.get(action.from) ?? 0) + delta);
        };
        settle(1);
        try {
          this.dc.startMigration(action.vm, action.to, (result) => {
            settle(-1);
            finish(result.error);
            this.pump();
          });
        } catch (err) {
          settle(-1);
          throw err;
        }
      } else if (action.type === 'power-on') {
        this.dc.powerOn(action.host, (err) => finish(err?.message));
      } else {
        this.dc.powerOff(action.host, (err) => finish(err?.message));
      }
    } catch (err) {
      finish((err as Error).message);
    }
    this.onChange();
  }
}
