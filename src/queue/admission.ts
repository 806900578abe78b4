import type { Client } from '@temporalio/client';
import { Semaphore } from 'async-mutex';
import { admitSignal } from '../shared/definitions';
import { queueEntryWorkflowId } from '../shared/ids';
import type { QueueEntryInput } from '../shared/types';
import type { Admission, QueueService } from './service';
import type { QueueSettingsStore } from './settings';

export interface AdmissionDeps {
  queue: QueueService;
  settings: QueueSettingsStore;
  temporal: Client;
  /** The task queue entry workflows run on. */
  taskQueue: string;
  warn?: (message: string, meta: Record<string, unknown>) => void;
  /**
   * The process's starter, which keeps starts that outlast a tick running into the next one.
   * Without it the tick starts every pending admission itself and waits for all of them.
   */
  starter?: EntryStarter;
  /** How long the tick waits for this round of starts (default: until all settle). */
  startWaitMs?: number;
}

export interface TickOutcome {
  admitted: number;
  expired: number;
  /** Entry workflows started (or found running) while the tick waited. */
  started: number;
  /** Admissions whose start failed; they stay in the outbox for the next tick. */
  failed: number;
  /** Starts still under way when the tick returned (they go on in the background). */
  inFlight: number;
}

/**
 * One admission tick: moves as many waiting users to active as the settings (MySQL) allow, in
 * one Redis script that also records each admission in an outbox, then starts the entry
 * workflow of every admission in the outbox (this tick's and any an earlier tick could not
 * start). An admission leaves the outbox only once its workflow runs, so a worker that dies
 * mid-tick, or a start that fails, is made good by the next tick; the slot is never lost
 * either way, because the admit script also frees lapsed slots by their time.
 *
 * The tick waits for its starts at most `startWaitMs`: when Temporal answers slower than the
 * admission rate asks, the next tick still admits on time and the starts catch up behind it
 * (the backlog shows as `inFlight`), instead of every tick taking as long as its slowest start.
 *
 * Temporal work therefore follows the admission rate the operator sets, never the arrival rate.
 */
export async function admissionTick(deps: AdmissionDeps): Promise<TickOutcome> {
  const settings = await deps.settings.read();
  const { admitted, expired } = await deps.queue.admit(settings);
  const pending = await deps.queue.pendingAdmissions();
  const starter = deps.starter ?? new EntryStarter(deps);
  const round = await starter.startAll(pending, deps.startWaitMs ?? Number.POSITIVE_INFINITY);
  return { admitted, expired, ...round };
}

type StarterDeps = Pick<AdmissionDeps, 'queue' | 'temporal' | 'taskQueue' | 'warn'>;

/** How many entry workflow starts a process has under way at once. */
const START_CONCURRENCY = 32;

/**
 * Starts entry workflows for outbox items, at most {@link START_CONCURRENCY} at once per
 * process, each item once while its start is under way (a tick that finds it still pending
 * leaves it to the start already running). Build one per worker process.
 */
export class EntryStarter {
  private readonly inFlight = new Map<string, Promise<boolean>>();
  private readonly slots = new Semaphore(START_CONCURRENCY);

  constructor(private readonly deps: StarterDeps) {}

  /**
   * Starts every admission not already under way; resolves once this round has settled or
   * `waitMs` has passed, with how many of the round started or failed by then.
   */
  async startAll(
    pending: readonly Admission[],
    waitMs: number,
  ): Promise<{ started: number; failed: number; inFlight: number }> {
    let started = 0;
    let failed = 0;
    const round = pending.map((admission) => {
      let start = this.inFlight.get(admission.raw);
      if (!start) {
        start = this.slots.runExclusive(() => startEntry(this.deps, admission));
        this.inFlight.set(admission.raw, start);
        void start.finally(() => this.inFlight.delete(admission.raw));
      }
      return start.then((ok) => {
        if (ok) started += 1;
        else failed += 1;
      });
    });
    let timer: NodeJS.Timeout | undefined;
    const waited = Number.isFinite(waitMs)
      ? new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))
      : new Promise<void>(() => undefined);
    await Promise.race([Promise.all(round), waited]);
    clearTimeout(timer);
    return { started, failed, inFlight: pending.length - started - failed };
  }
}

/**
 * Starts the admitted user's entry workflow (id `queue-entry:<userId>`), idempotently: with
 * signal-with-start, a run that already exists is told about this admission instead of a
 * second one starting (the same admission again is ignored by it; a run of an older entry that
 * is still ending hands over to this one when it ends).
 */
async function startEntry(deps: StarterDeps, admission: Admission): Promise<boolean> {
  const input: QueueEntryInput = {
    userId: admission.userId,
    tokenId: admission.tokenId,
    activeUntil: admission.activeUntil,
  };
  try {
    await deps.temporal.workflow.signalWithStart('queueEntryWorkflow', {
      workflowId: queueEntryWorkflowId(admission.userId),
      taskQueue: deps.taskQueue,
      args: [input],
      signal: admitSignal,
      signalArgs: [{ tokenId: admission.tokenId, activeUntil: admission.activeUntil }],
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    });
    await deps.queue.markStarted(admission);
    return true;
  } catch (err) {
    deps.warn?.('entry workflow not started; retried next tick', { userId: admission.userId, error: String(err) });
    return false;
  }
}
