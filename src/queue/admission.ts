import type { Client } from '@temporalio/client';
import { admitSignal } from '../shared/definitions';
import { queueEntryWorkflowId } from '../shared/ids';
import type { QueueEntryInput } from '../shared/types';
import type { Admission, QueueService } from './service';
import type { QueueSettingsStore } from './settings';

/** How many entry workflow starts one tick has under way at once. */
const START_CONCURRENCY = 32;

export interface AdmissionDeps {
  queue: QueueService;
  settings: QueueSettingsStore;
  temporal: Client;
  /** The task queue entry workflows run on. */
  taskQueue: string;
  warn?: (message: string, meta: Record<string, unknown>) => void;
}

export interface TickOutcome {
  admitted: number;
  expired: number;
  /** Entry workflows started (or found running) this tick. */
  started: number;
  /** Admissions whose start failed; they stay in the outbox for the next tick. */
  failed: number;
}

/**
 * One admission tick: moves as many waiting users to active as the settings (MySQL) allow, in
 * one Redis script that also records each admission in an outbox, then starts the entry
 * workflow of every admission in the outbox (this tick's and any an earlier tick could not
 * start). An admission leaves the outbox only once its workflow runs, so a worker that dies
 * mid-tick, or a start that fails, is made good by the next tick; the slot is never lost
 * either way, because the admit script also frees lapsed slots by their time.
 *
 * Temporal work therefore follows the admission rate the operator sets, never the arrival rate.
 */
export async function admissionTick(deps: AdmissionDeps): Promise<TickOutcome> {
  const settings = await deps.settings.read();
  const { admitted, expired } = await deps.queue.admit(settings);
  const pending = await deps.queue.pendingAdmissions();
  let started = 0;
  let failed = 0;
  for (let i = 0; i < pending.length; i += START_CONCURRENCY) {
    const batch = pending.slice(i, i + START_CONCURRENCY);
    const results = await Promise.all(batch.map((admission) => startEntry(deps, admission)));
    const ok = results.filter(Boolean).length;
    started += ok;
    failed += results.length - ok;
  }
  return { admitted, expired, started, failed };
}

/**
 * Starts the admitted user's entry workflow (id `queue-entry:<userId>`), idempotently: with
 * signal-with-start, a run that already exists is told about this admission instead of a
 * second one starting (the same admission again is ignored by it; a run of an older entry that
 * is still ending hands over to this one when it ends).
 */
async function startEntry(deps: AdmissionDeps, admission: Admission): Promise<boolean> {
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
